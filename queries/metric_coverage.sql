-- The days a metric has data for, one row.
-- Params: $dataset (text), $metric (text)
-- Returns: first_day, last_day, entities, readings
select
    min(day) as first_day,
    max(day) as last_day,
    count(distinct entity_id) as entities,
    coalesce(sum(n), 0) as readings
from entity_daily
where dataset = $dataset
  and metric = $metric
