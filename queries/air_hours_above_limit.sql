-- Hours above an hourly limit at each monitoring site in each local calendar year of the period, one row per site and year.
-- Params: $dataset (text), $metric (text), $limit (double), $boroughs (text[]), $start (date), $end (date), $tz (text)
-- Returns: entity_id, name, kind, borough_code, borough_name, year, hours_above, hours_measured, highest
with sites as (
    select entity_id, name, kind, borough_code
    from entities
    where dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

local_readings as (
    select
        observations.entity_id,
        -- Readings before the first local new year after the period start are in its year; only
        -- a period across a new year converts the later readings to local time (per reading,
        -- that conversion was most of the query's cost).
        case
            when observations.ts < timezone(
                'UTC', timezone($tz, make_timestamp(year(cast($start as date)) + 1, 1, 1, 0, 0, 0))
            ) then year(cast($start as date))
            else year(timezone($tz, timezone('UTC', observations.ts)))
        end as year,
        observations.value
    from observations
    where observations.dataset = $dataset
      and observations.metric = $metric
      and observations.ts >= timezone('UTC', timezone($tz, cast($start as timestamp)))
      and observations.ts < timezone('UTC', timezone($tz, cast($end + 1 as timestamp)))
      and observations.entity_id in (select entity_id from sites)
),

per_site_year as (
    select
        entity_id,
        year,
        count(*) filter (where value > $limit) as hours_above,
        count(*) as hours_measured,
        max(value) as highest
    from local_readings
    group by entity_id, year
)

select
    per_site_year.entity_id,
    sites.name,
    sites.kind,
    sites.borough_code,
    boroughs.borough_name,
    per_site_year.year,
    per_site_year.hours_above,
    per_site_year.hours_measured,
    per_site_year.highest
from per_site_year
join sites using (entity_id)
left join boroughs using (borough_code)
order by per_site_year.hours_above desc, per_site_year.entity_id, per_site_year.year
