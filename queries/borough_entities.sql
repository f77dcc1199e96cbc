-- The sites, stations, docks, count points and sensors of one borough in every dataset, one row per dataset and entity.
-- Params: $borough (text), $start (date), $end (date)
-- Returns: dataset, entity_id, name, kind, lat, lon, readings, last_day
with active as (
    select dataset, entity_id, sum(n) as readings, max(day) as last_day
    from entity_daily
    where borough_code = $borough
      and day between $start and $end
    group by dataset, entity_id
)

select
    entities.dataset,
    entities.entity_id,
    entities.name,
    entities.kind,
    entities.lat,
    entities.lon,
    coalesce(active.readings, 0) as readings,
    active.last_day
from entities
left join active using (dataset, entity_id)
where entities.borough_code = $borough
order by entities.dataset, entities.name, entities.entity_id
