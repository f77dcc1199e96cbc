-- Every entity of a dataset with its borough, one row per entity.
-- Params: $dataset (text)
-- Returns: entity_id, name, kind, lat, lon, borough_code, borough_name
--
-- It does not change with the period, so a page keeps it across date changes.
select
    entities.entity_id,
    entities.name,
    entities.kind,
    entities.lat,
    entities.lon,
    entities.borough_code,
    boroughs.borough_name
from entities
left join boroughs using (borough_code)
where entities.dataset = $dataset
order by entities.entity_id
