-- Daily summary per borough, one row per borough, local calendar day and metric.
-- Params: $entity_daily (text)
-- Returns: borough_code, day, metric, n, total, peak, low, entities
select
    borough_code,
    day,
    metric,
    sum(n) as n,
    sum(total) as total,
    max(peak) as peak,
    min(low) as low,
    count(distinct entity_id) as entities
from read_parquet($entity_daily)
where borough_code is not null
group by all
order by metric, day, borough_code
