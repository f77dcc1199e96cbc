-- Chosen metrics of a dataset per time bucket (day, week, month or year) for the selected boroughs, one row per bucket and metric.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $bucket (text), $boroughs (text[])
-- Returns: bucket, metric, total, readings, entities, days
--
-- By week, the weeks the period covers whole come from entity_weekly and only the days either
-- side from entity_daily; otherwise every day comes from entity_daily.
with whole_weeks as (
    select week as bucket, metric, n, total, day_bits
    from entity_weekly
    where $bucket = 'week'
      and dataset = $dataset
      and list_contains($metrics, metric)
      -- From the first Monday on or after $start, to the last week ending on or before $end.
      and week >= cast(date_trunc('week', cast($start as date) - 1) + interval 7 day as date)
      and week < cast(date_trunc('week', cast($end as date) + 1) as date)
      -- An empty selection means every borough.
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

selected_daily as (
    select
        entity_id,
        day,
        metric,
        n,
        total,
        -- A case rather than date_trunc($bucket, ...): an unknown bucket name falls back to days.
        case $bucket
            when 'year' then cast(date_trunc('year', day) as date)
            when 'month' then cast(date_trunc('month', day) as date)
            when 'week' then cast(date_trunc('week', day) as date)
            else day
        end as bucket
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
      and not ($bucket = 'week'
               and day >= cast(date_trunc('week', cast($start as date) - 1) + interval 7 day as date)
               and day < cast(date_trunc('week', cast($end as date) + 1) as date))
),

day_totals as (
    -- entity_daily holds one row per entity, day and metric, so a day's rows count its entities
    -- without a distinct count (a quarter of the time over a season of a large network).
    select bucket, day, metric, sum(total) as total, sum(n) as readings, count(*) as entities
    from selected_daily
    group by bucket, day, metric
),

bucket_totals as (
    select bucket, metric, sum(total) as total, sum(readings) as readings, max(entities) as day_entities,
           count(*) as days
    from day_totals
    group by bucket, metric
),

longer_bucket_entities as (
    -- A bucket of several days counts each entity once, however many of its days have data.
    select bucket, metric, count(distinct entity_id) as entities
    from selected_daily
    where $bucket in ('week', 'month', 'year')
    group by bucket, metric
),

whole_week_totals as (
    -- entity_weekly holds one row per entity, week and metric: a week's rows are its entities.
    select bucket, metric, sum(total) as total, sum(n) as readings, count(*) as entities,
           bit_count(bit_or(day_bits)) as days
    from whole_weeks
    group by bucket, metric
)

select
    bucket_totals.bucket,
    bucket_totals.metric,
    bucket_totals.total,
    bucket_totals.readings,
    coalesce(longer_bucket_entities.entities, bucket_totals.day_entities) as entities,
    bucket_totals.days
from bucket_totals
left join longer_bucket_entities using (bucket, metric)
union all
select bucket, metric, total, readings, entities, days
from whole_week_totals
order by bucket, metric
