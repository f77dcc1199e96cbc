-- The day's highest valid average of each pollutant at each site, one row per entity, local calendar day and metric.
-- Params: $observations (text), $tz (text), $averaging (text[]), $min_coverage (double)
-- Returns: entity_id, day, metric, hours, min_coverage, tz, concentration
--
-- What queries/air_site_daily_index.sql bands into the UK Daily Air Quality Index, worked out once
-- when a dataset is published instead of on every page view (the method, which
-- citydash.airquality must agree with, is described there). Each pollutant is averaged over its
-- period (a running mean over the hours ending at each hour), a window with fewer than
-- $min_coverage of its hours measured has no average, and the day's figure is the highest
-- average labelled with an hour of that calendar day. hours, min_coverage and tz record the
-- method, so that a rollup made with other settings is never read as if made with these.
-- $averaging lists 'pollutant=hours'; metrics not in it (and datasets without any) give no rows.
with pollutants as (
    select
        split_part(item, '=', 1) as metric,
        try_cast(split_part(item, '=', 2) as integer) as hours
    from (select unnest($averaging) as item)
),

readings as (
    select observations.entity_id, observations.metric, observations.ts, observations.value
    from read_parquet($observations) as observations
    where list_contains(list_transform($averaging, lambda item: split_part(item, '=', 1)), observations.metric)
),

series_spans as (
    -- Series averaged over more than one hour, numbered so that the hourly work below joins and
    -- partitions on a number rather than on two strings; a one-hour "mean" is the reading itself.
    select
        row_number() over () as series,
        entity_id,
        metric,
        hours,
        first_ts,
        last_ts
    from (
        select readings.entity_id, readings.metric, pollutants.hours, min(readings.ts) as first_ts,
               max(readings.ts) as last_ts
        from readings
        join pollutants using (metric)
        where pollutants.hours > 1
        group by all
    )
),

series_readings as (
    select series_spans.series, readings.ts, readings.value
    from readings
    join series_spans using (entity_id, metric)
),

hourly_slots as (
    -- Every hour from a series' first reading to its last, so that a window ending at an hour
    -- without a reading still counts the readings before it, as the Python method does.
    select series, hours, unnest(range(first_ts, last_ts + interval 1 hour, interval 1 hour)) as ts
    from series_spans
),

series_means as (
    select
        series,
        ts,
        hours,
        -- Rounded like the Python method so that summation noise cannot cross a .5 boundary.
        round(avg(value) over recent_hours, 6) as mean,
        count(value) over recent_hours as readings
    from hourly_slots
    left join series_readings using (series, ts)
    window recent_hours as (partition by series order by ts rows between hours - 1 preceding and current row)
),

local_days as (
    -- The city's calendar day of each UTC hour the readings span: converting these hours and
    -- joining is far quicker than converting every hourly mean.
    select ts, cast(timezone($tz, timezone('UTC', ts)) as date) as day
    from (select unnest(range(date_trunc('hour', min(ts)), max(ts) + interval 1 hour, interval 1 hour)) as ts
          from readings)
),

series_days as (
    -- The highest valid average of each series and day, before the series get their names back.
    select series_means.series, local_days.day, max(series_means.mean) as concentration
    from series_means
    join local_days using (ts)
    where series_means.readings >= greatest(1, ceil(series_means.hours * $min_coverage - 1e-9))
    group by all
),

pollutant_days as (
    select series_spans.entity_id, series_spans.metric, series_spans.hours, series_days.day,
           series_days.concentration
    from series_days
    join series_spans using (series)
    union all
    select readings.entity_id, readings.metric, pollutants.hours, local_days.day,
           round(max(readings.value), 6) as concentration
    from readings
    join pollutants using (metric)
    join local_days using (ts)
    where pollutants.hours = 1
    group by all
)

select
    entity_id,
    day,
    metric,
    hours,
    $min_coverage as min_coverage,
    $tz as tz,
    concentration
from pollutant_days
order by day, entity_id, metric
