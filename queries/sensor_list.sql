-- Sensors that reported a metric in a period, one row per sensor.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date)
-- Returns: entity_id, name, borough_code, borough_name, readings
with reported as (
    select entity_id, sum(n) as readings
    from entity_daily
    where dataset = $dataset
      and metric = $metric
      and day between $start and $end
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
    group by entity_id
)

select
    entities.entity_id,
    entities.name,
    entities.borough_code,
    boroughs.borough_name,
    reported.readings
from reported
join entities
  on entities.dataset = $dataset
 and entities.entity_id = reported.entity_id
left join boroughs using (borough_code)
order by entities.name, entities.entity_id
