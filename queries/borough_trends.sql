-- Chosen metrics for one borough and for the average borough, day by day or in longer steps, one row per dataset, metric, scope and step.
-- Params: $borough (text), $metrics (text[]), $start (date), $end (date), $bucket_days (integer)
-- Returns: dataset, metric, scope, bucket, mean_value, total, peak_sum, peak_max, entities, days
--
-- $metrics lists '<dataset>.<metric>' keys. A step (bucket) starts every $bucket_days days from
-- $start and is named by its first day; days is how many days of the period it spans (the last
-- step can be short). The columns are the ways a metric can combine, as in borough_metrics;
-- scope 'average' is the mean over the boroughs with data in that step of each column.
with chosen as (
    select
        dataset,
        metric,
        borough_code,
        entity_id,
        cast($start + cast((datediff('day', $start, day) // $bucket_days) * $bucket_days as integer) as date) as bucket,
        n,
        total,
        peak
    from entity_daily
    where list_contains($metrics, dataset || '.' || metric)
      and day between $start and $end
      and borough_code is not null
),

per_entity as (
    select dataset, metric, borough_code, bucket, entity_id, sum(n) as readings, sum(total) as total, max(peak) as peak
    from chosen
    group by all
),

per_borough as (
    select
        dataset,
        metric,
        borough_code,
        bucket,
        sum(total) / sum(readings) as mean_value,
        sum(total) as total,
        sum(peak) as peak_sum,
        max(peak) as peak_max,
        count(*) as entities
    from per_entity
    group by dataset, metric, borough_code, bucket
),

scoped as (
    select dataset, metric, 'borough' as scope, bucket, mean_value, total, peak_sum, peak_max, entities
    from per_borough
    where borough_code = $borough
    union all
    select dataset, metric, 'average' as scope, bucket, avg(mean_value), avg(total), avg(peak_sum), avg(peak_max),
           sum(entities)
    from per_borough
    group by dataset, metric, bucket
)

select
    dataset,
    metric,
    scope,
    bucket,
    mean_value,
    total,
    peak_sum,
    peak_max,
    entities,
    least(datediff('day', bucket, $end) + 1, $bucket_days) as days
from scoped
order by dataset, metric, scope, bucket
