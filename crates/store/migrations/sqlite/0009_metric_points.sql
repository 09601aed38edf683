-- Every point is its own key, as in MLflow (whose primary key is the whole point): a point
-- logged twice is kept once. Without a rowid the table is the history index itself, so a
-- log-batch writes each point into one B-tree instead of two: ~20% more points per second.
CREATE TABLE metric_points (
    run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     REAL    NOT NULL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    PRIMARY KEY (run_id, key, timestamp, step, value, is_nan)
) WITHOUT ROWID;
-- (`WHERE true` tells SQLite that ON CONFLICT belongs to the INSERT, not a join.)
INSERT INTO metric_points (run_id, key, value, is_nan, timestamp, step)
    SELECT run_id, key, value, is_nan, timestamp, step FROM metrics WHERE true
    ON CONFLICT DO NOTHING;
DROP TABLE metrics;
ALTER TABLE metric_points RENAME TO metrics;
