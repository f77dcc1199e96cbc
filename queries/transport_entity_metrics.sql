-- Chosen metrics of every entity of a dataset over a period, one row per entity and metric with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date)
-- Returns: entity_id, name, kind, lat, lon, borough_code, borough_name, metric, total, readings, peak, days
with per_entity as (
    select
        entity_id,
        metric,
        sum(total) as total,
        sum(n) as readings,
        max(peak) as peak,
        -- entity_daily holds one row per entity, day and metric.
        count(*) as days
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
    group by entity_id, metric
),

dataset_entities as (
    select entity_id, name, kind, lat, lon, borough_code
    from entities
    where dataset = $dataset
)

select
    dataset_entities.entity_id,
    dataset_entities.name,
    dataset_entities.kind,
    dataset_entities.lat,
    dataset_entities.lon,
    dataset_entities.borough_code,
    boroughs.borough_name,
    per_entity.metric,
    per_entity.total,
    per_entity.readings,
    per_entity.peak,
    per_entity.days
from per_entity
join dataset_entities using (entity_id)
left join boroughs using (borough_code)
order by dataset_entities.entity_id, per_entity.metric
