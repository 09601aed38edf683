-- Every point is its own key, as in MLflow (whose primary key is the whole point): a point
-- logged twice is kept once, on both backends.
DELETE FROM metrics AS a USING metrics AS b
    WHERE a.ctid > b.ctid AND a.run_id = b.run_id AND a.key = b.key
      AND a.timestamp = b.timestamp AND a.step = b.step AND a.value = b.value
      AND a.is_nan = b.is_nan;
DROP INDEX metrics_history;
CREATE UNIQUE INDEX metrics_history ON metrics (run_id, key, timestamp, step, value, is_nan);
