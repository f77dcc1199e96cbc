-- Chosen metrics of every entity of a dataset over a period, one row per entity and metric with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date)
-- Returns: entity_id, name, kind, lat, lon, borough_code, borough_name, metric, total, readings, peak, days
--
-- The months the period covers whole come from entity_monthly (a tenth of the rows to read), the
-- days either side of them from entity_daily. A period inside one month, or across two without a
-- whole one between, is all days.
with whole_months as (
    select entity_id, metric, total, n, peak, days
    from entity_monthly
    where dataset = $dataset
      and list_contains($metrics, metric)
      -- From the first month starting on or after $start, to the last one ending on or before $end.
      and month >= cast(date_trunc('month', cast($start as date) - 1) + interval 1 month as date)
      and month < cast(date_trunc('month', cast($end as date) + 1) as date)
),

days_either_side as (
    select entity_id, metric, total, n, peak, 1 as days
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and (day < cast(date_trunc('month', cast($start as date) - 1) + interval 1 month as date)
           or day >= cast(date_trunc('month', cast($end as date) + 1) as date))
),

per_entity as (
    select
        entity_id,
        metric,
        sum(total) as total,
        sum(n) as readings,
        max(peak) as peak,
        -- entity_daily holds one row per entity, day and metric.
        sum(days) as days
    from (
        select * from whole_months
        union all
        select * from days_either_side
    )
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
