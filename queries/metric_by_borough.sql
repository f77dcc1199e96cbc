-- A metric for every borough over a period, one row per borough (value null where there is no data).
-- Params: $dataset (text), $metric (text), $aggregation (text), $area_aggregation (text), $start (date), $end (date)
-- Returns: borough_code, borough_name, borough_group, value, entities, readings
with per_entity as (
    select
        borough_code,
        entity_id,
        sum(n) as readings,
        sum(total) as total,
        max(peak) as peak
    from entity_daily
    where dataset = $dataset
      and metric = $metric
      and day between $start and $end
    group by borough_code, entity_id
),

per_borough as (
    select
        borough_code,
        case
            when $aggregation = 'mean' then sum(total) / sum(readings)
            when $aggregation = 'sum' then sum(total)
            when $area_aggregation = 'sum' then sum(peak)
            else max(peak)
        end as value,
        count(*) as entities,
        sum(readings) as readings
    from per_entity
    group by borough_code
)

select
    boroughs.borough_code,
    boroughs.borough_name,
    boroughs.borough_group,
    per_borough.value,
    coalesce(per_borough.entities, 0) as entities,
    coalesce(per_borough.readings, 0) as readings
from boroughs
left join per_borough using (borough_code)
order by boroughs.borough_code
