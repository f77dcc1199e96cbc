-- The monitoring sites of the selected boroughs with where they are and their mean of each pollutant over the period, one row per site and metric (metric null for a site without readings).
-- Params: $dataset (text), $metrics (text[]), $boroughs (text[]), $start (date), $end (date)
-- Returns: entity_id, name, kind, lat, lon, borough_code, borough_name, metric, value, readings, days
with sites as (
    select entity_id, name, kind, lat, lon, borough_code
    from entities
    where dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

period_means as (
    select
        entity_id,
        metric,
        sum(total) / sum(n) as value,
        sum(n) as readings,
        count(*) as days
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
    group by entity_id, metric
)

select
    sites.entity_id,
    sites.name,
    sites.kind,
    sites.lat,
    sites.lon,
    sites.borough_code,
    boroughs.borough_name,
    period_means.metric,
    period_means.value,
    coalesce(period_means.readings, 0) as readings,
    coalesce(period_means.days, 0) as days
from sites
left join period_means using (entity_id)
left join boroughs using (borough_code)
order by sites.entity_id, period_means.metric
