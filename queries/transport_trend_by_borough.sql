-- Chosen metrics of a dataset per borough and time bucket (day, week, month or year), one row per borough, bucket and metric with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $bucket (text), $boroughs (text[])
-- Returns: borough_code, borough_name, bucket, metric, total, readings, entities, days
with selected_daily as (
    select entity_id, borough_code, day, metric, n, total
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and borough_code is not null
      -- An empty selection means every borough.
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

bucketed_daily as (
    select
        borough_code,
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
    from selected_daily
),

borough_buckets as (
    select
        borough_code,
        bucket,
        metric,
        sum(total) as total,
        sum(n) as readings,
        count(distinct entity_id) as entities,
        count(distinct day) as days
    from bucketed_daily
    group by borough_code, bucket, metric
)

select
    borough_buckets.borough_code,
    boroughs.borough_name,
    borough_buckets.bucket,
    borough_buckets.metric,
    borough_buckets.total,
    borough_buckets.readings,
    borough_buckets.entities,
    borough_buckets.days
from borough_buckets
left join boroughs using (borough_code)
order by boroughs.borough_name, borough_buckets.bucket, borough_buckets.metric
