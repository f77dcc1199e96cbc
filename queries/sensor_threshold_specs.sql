-- The thresholds each metric's sensor_threshold_daily rows were counted with, one row per metric.
-- Params: $dataset (text)
-- Returns: metric, thresholds
select distinct metric, thresholds
from sensor_threshold_daily
where dataset = $dataset
order by metric, thresholds
