-- The UK Daily Air Quality Index of each monitoring site per day, per pollutant and overall, one row per site, day and metric.
-- Params: $dataset (text), $boroughs (text[]), $start (date), $end (date), $tz (text), $averaging (text[]), $upper_bounds (text[]), $min_coverage (double), $pollutants (boolean)
-- Returns: entity_id, borough_code, day, metric, daqi_index, concentration, pollutant
--
-- The official method (see citydash.airquality, which this must agree with): each pollutant is
-- averaged over its period, and the day's figure is the highest valid average labelled with an
-- hour of that calendar day; queries/rollups/pollutant_daily.sql works those out when a dataset
-- is published. Here each is rounded half up to a whole µg/m³ and banded by the catalogue's
-- breakpoints, and the site's DAQI is the highest index across its pollutants. Only rollup rows
-- made with the method asked for ($averaging hours, $min_coverage, $tz) count.
-- $averaging lists 'pollutant=hours' in catalogue order; $upper_bounds 'pollutant=b1,b2,...,b9'.
-- $pollutants false leaves out each pollutant's own rows: only the sites' overall index (metric
-- 'daqi'), a fifth of the rows, which is all the page's map and charts use.
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

pollutant_days as (
    select pollutant_daily.entity_id, pollutant_daily.metric, pollutant_daily.day, pollutant_daily.concentration
    from pollutant_daily
    join pollutants on pollutant_daily.metric = pollutants.metric and pollutant_daily.hours = pollutants.hours
    where pollutant_daily.dataset = $dataset
      and pollutant_daily.day between $start and $end
      and pollutant_daily.min_coverage = $min_coverage
      and pollutant_daily.tz = $tz
      and pollutant_daily.entity_id in (select entity_id from sites)
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
    -- An aggregate rather than a window ranking each site's day: no sort of every pollutant-day.
    select
        entity_id,
        day,
        'daqi' as metric,
        arg_max({'daqi_index': daqi_index, 'concentration': concentration, 'pollutant': metric},
                (daqi_index, -position)) as highest
    from pollutant_indices
    group by entity_id, day
),

all_rows as (
    select entity_id, day, metric, daqi_index, concentration, metric as pollutant from pollutant_indices
    where $pollutants
    union all
    select entity_id, day, metric, highest.daqi_index, highest.concentration, highest.pollutant from site_days
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
