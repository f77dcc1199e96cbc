-- A metric day by day for a few chosen boroughs, one row per borough and day.
-- Params: $dataset (text), $metric (text), $aggregation (text), $area_aggregation (text), $start (date), $end (date), $boroughs (text[])
-- Returns: borough_code, day, value, entities
with per_entity as (
    select borough_code, day, entity_id, sum(n) as readings, sum(total) as total, max(peak) as peak
    from entity_daily
    where dataset = $dataset
      and metric = $metric
      and day between $start and $end
      and list_contains($boroughs, borough_code)
    group by borough_code, day, entity_id
)

select
    borough_code,
    day,
    case
        when $aggregation = 'mean' then sum(total) / sum(readings)
        when $aggregation = 'sum' then sum(total)
        when $area_aggregation = 'sum' then sum(peak)
        else max(peak)
    end as value,
    count(*) as entities
from per_entity
group by borough_code, day
order by borough_code, day
