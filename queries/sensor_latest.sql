-- The latest reading of a metric from each sensor that reports it, up to a moment, one row per sensor.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $since (timestamp), $now (timestamp)
-- Returns: entity_id, name, kind, borough_code, borough_name, lat, lon, ts, value
with reporting as (
    -- Sensors that have ever reported this metric, so a silent one still shows on the map.
    select distinct entity_id
    from entity_daily
    where dataset = $dataset
      and metric = $metric
),

sensors as (
    select
        entities.entity_id,
        entities.name,
        entities.kind,
        entities.borough_code,
        boroughs.borough_name,
        entities.lat,
        entities.lon
    from entities
    join reporting using (entity_id)
    left join boroughs using (borough_code)
    where entities.dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, entities.borough_code))
),

latest as (
    select
        entity_id,
        max(ts) as ts,
        arg_max(value, ts) as value
    from observations
    where dataset = $dataset
      and metric = $metric
      and ts > $since
      and ts <= $now
    group by entity_id
)

select
    sensors.entity_id,
    sensors.name,
    sensors.kind,
    sensors.borough_code,
    sensors.borough_name,
    sensors.lat,
    sensors.lon,
    latest.ts,
    latest.value
from sensors
left join latest using (entity_id)
order by sensors.entity_id
