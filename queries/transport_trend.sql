-- Chosen metrics of a dataset per time bucket (day, week, month or year) for the selected boroughs, one row per bucket and metric.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $bucket (text), $boroughs (text[])
-- Returns: bucket, metric, total, readings, entities, days
with daily as (
    select *
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      -- An empty selection means every borough.
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

bucketed as (
    select
        -- A case rather than date_trunc($bucket, ...): an unknown bucket name falls back to days.
        case $bucket
            when 'year' then cast(date_trunc('year', day) as date)
            when 'month' then cast(date_trunc('month', day) as date)
            when 'week' then cast(date_trunc('week', day) as date)
            else day
        end as bucket,
        metric,
        entity_id,
        day,
        n,
        total
    from daily
)

select
    bucket,
    metric,
    sum(total) as total,
    sum(n) as readings,
    count(distinct entity_id) as entities,
    count(distinct day) as days
from bucketed
group by bucket, metric
order by bucket, metric
