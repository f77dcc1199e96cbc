-- The UK Daily Air Quality Index of each monitoring site per day, per pollutant and overall, one row per site, day and metric.
-- Params: $dataset (text), $boroughs (text[]), $start (date), $end (date), $tz (text), $averaging (text[]), $upper_bounds (text[]), $min_coverage (double)
-- Returns: entity_id, borough_code, day, metric, daqi_index, concentration, pollutant
--
-- The official method (see citydash.airquality, which this must agree with): each pollutant is
-- averaged over its period (a running mean over the hours ending at each hour), a window with
-- fewer than $min_coverage of its hours measured has no average, the day's figure is the highest
-- average labelled with an hour of that calendar day, rounded half up to a whole µg/m³ and banded
-- by the catalogue's breakpoints. The site's DAQI is the highest index across its pollutants.
-- $averaging lists 'pollutant=hours' in catalogue order; $upper_bounds 'pollutant=b1,b2,...,b9'.
with pollutants as (
    select
        split_part(item, '=', 1) as metric,
        try_cast(split_part(item, '=', 2) as integer) as hours,
        position
    from (select unnest($averaging) as item, generate_subscripts($averaging, 1) as position)
),

breakpoints as (
    select
        split_part(item, '=', 1) as metric,
        try_cast(string_split(split_part(item, '=', 2), ',') as double[]) as upper_bounds
    from (select unnest($upper_bounds) as item)
),

sites as (
    select entity_id, borough_code
    from entities
    where dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

readings as (
    -- From the longest averaging period before the first local midnight to the last one; the
    -- bounds are constant expressions of the parameters, so the parquet scan can skip row groups.
    select observations.entity_id, observations.metric, observations.ts, observations.value
    from observations
    where observations.dataset = $dataset
      and list_contains(list_transform($averaging, lambda item: split_part(item, '=', 1)), observations.metric)
      and observations.ts >= timezone('UTC', timezone($tz, cast($start as timestamp)))
          - to_hours(coalesce(list_max(list_transform(
                $averaging, lambda item: try_cast(split_part(item, '=', 2) as integer))), 1) - 1)
      and observations.ts < timezone('UTC', timezone($tz, cast($end + 1 as timestamp)))
      and observations.entity_id in (select entity_id from sites)
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
    -- The city's calendar day of each UTC hour of the period: converting these few thousand hours
    -- and joining is far quicker than converting every hourly mean.
    select ts, cast(timezone($tz, timezone('UTC', ts)) as date) as day
    from (select unnest(range(timezone('UTC', timezone($tz, cast($start as timestamp))),
                              timezone('UTC', timezone($tz, cast($end + 1 as timestamp))),
                              interval 1 hour)) as ts)
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
    select series_spans.entity_id, series_spans.metric, series_days.day, series_days.concentration
    from series_days
    join series_spans using (series)
    union all
    select readings.entity_id, readings.metric, local_days.day, round(max(readings.value), 6) as concentration
    from readings
    join pollutants using (metric)
    join local_days using (ts)
    where pollutants.hours = 1
    group by all
),

pollutant_indices as (
    select
        pollutant_days.entity_id,
        pollutant_days.day,
        pollutant_days.metric,
        1 + len(list_filter(breakpoints.upper_bounds,
                            lambda bound: bound < floor(pollutant_days.concentration + 0.5))) as daqi_index,
        pollutant_days.concentration,
        pollutants.position
    from pollutant_days
    join breakpoints using (metric)
    join pollutants using (metric)
),

site_days as (
    -- The highest index across pollutants; a tie goes to the first pollutant in catalogue order.
    select entity_id, day, 'daqi' as metric, daqi_index, concentration, metric as pollutant
    from pollutant_indices
    qualify row_number() over (partition by entity_id, day order by daqi_index desc, position) = 1
),

all_rows as (
    select entity_id, day, metric, daqi_index, concentration, metric as pollutant from pollutant_indices
    union all
    select entity_id, day, metric, daqi_index, concentration, pollutant from site_days
)

select
    all_rows.entity_id,
    sites.borough_code,
    all_rows.day,
    all_rows.metric,
    all_rows.daqi_index,
    all_rows.concentration,
    all_rows.pollutant
from all_rows
join sites using (entity_id)
order by all_rows.entity_id, all_rows.day, all_rows.metric
