-- The days an air-quality dataset has readings of the given pollutants, one row.
-- Params: $dataset (text), $metrics (text[])
-- Returns: first_day, last_day, sites
select
    min(day) as first_day,
    max(day) as last_day,
    count(distinct entity_id) as sites
from entity_daily
where dataset = $dataset
  and list_contains($metrics, metric)
