-- Chosen metrics for one borough and for the average borough, day by day or in longer steps, one row per dataset, metric, scope and step.
-- Params: $borough (text), $metrics (text[]), $summed_peaks (text[]), $start (date), $end (date), $bucket_days (integer)
-- Returns: dataset, metric, scope, bucket, mean_value, total, peak_sum, peak_max, days
--
-- $metrics lists '<dataset>.<metric>' keys. A step (bucket) starts every $bucket_days days from
-- $start and is named by its first day; days is how many days of the period it spans (the last
-- step can be short). The columns are the ways a metric can combine, as in borough_metrics, except
-- that peak_sum (the sum over entities of each one's largest reading in the step) is worked out
-- only for the keys in $summed_peaks and is null for the others: it needs every entity's readings,
-- where the rest come from the per-borough rollup. scope 'average' is the mean over the boroughs
-- with data in that step of each column.
with borough_days as (
    select
        dataset,
        metric,
        borough_code,
        cast($start + cast((datediff('day', $start, day) // $bucket_days) * $bucket_days as integer) as date) as bucket,
        n,
        total,
        peak
    from borough_daily
    where list_contains($metrics, dataset || '.' || metric)
      and day between $start and $end
),

entity_peaks as (
    select
        dataset,
        metric,
        borough_code,
        cast($start + cast((datediff('day', $start, day) // $bucket_days) * $bucket_days as integer) as date) as bucket,
        entity_id,
        max(peak) as peak
    from entity_daily
    where list_contains($summed_peaks, dataset || '.' || metric)
      and list_contains($metrics, dataset || '.' || metric)
      and day between $start and $end
      and borough_code is not null
    group by all
),

summed_peaks as (
    select dataset, metric, borough_code, bucket, sum(peak) as peak_sum
    from entity_peaks
    group by all
),

per_borough as (
    select
        borough_days.dataset,
        borough_days.metric,
        borough_days.borough_code,
        borough_days.bucket,
        sum(borough_days.total) / sum(borough_days.n) as mean_value,
        sum(borough_days.total) as total,
        max(borough_days.peak) as peak_max
    from borough_days
    group by all
),

with_peaks as (
    select per_borough.*, summed_peaks.peak_sum
    from per_borough
    left join summed_peaks using (dataset, metric, borough_code, bucket)
),

scoped as (
    select dataset, metric, 'borough' as scope, bucket, mean_value, total, peak_sum, peak_max
    from with_peaks
    where borough_code = $borough
    union all
    select dataset, metric, 'average' as scope, bucket, avg(mean_value), avg(total), avg(peak_sum), avg(peak_max)
    from with_peaks
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
    least(datediff('day', bucket, $end) + 1, $bucket_days) as days
from scoped
order by dataset, metric, scope, bucket
