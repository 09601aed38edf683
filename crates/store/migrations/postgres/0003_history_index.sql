-- Metric history is read in MLflow's order (timestamp, step, value): with the value in the
-- index, pages come straight off it instead of from a sort of the whole history.
DROP INDEX metrics_history;
CREATE INDEX metrics_history ON metrics (run_id, key, timestamp, step, value);
