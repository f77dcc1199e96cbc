-- Daily mean of each pollutant by monitoring site type in the selected boroughs, one row per site type, day and metric.
-- Params: $dataset (text), $metrics (text[]), $boroughs (text[]), $start (date), $end (date)
-- Returns: kind, day, metric, value, total, readings, sites
with site_kinds as (
    select entity_id, coalesce(kind, 'Unknown') as kind
    from entities
    where dataset = $dataset
),

daily as (
    select entity_id, day, metric, n, total
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
)

select
    site_kinds.kind,
    daily.day,
    daily.metric,
    sum(daily.total) / sum(daily.n) as value,
    sum(daily.total) as total,
    sum(daily.n) as readings,
    -- entity_daily holds one row per entity, day and metric: a group's rows are its sites.
    count(*) as sites
from daily
join site_kinds using (entity_id)
group by site_kinds.kind, daily.day, daily.metric
order by daily.metric, site_kinds.kind, daily.day
