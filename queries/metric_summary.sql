-- A metric over a period for the selected boroughs and for the whole city, one row per scope.
-- Params: $dataset (text), $metric (text), $aggregation (text), $area_aggregation (text), $start (date), $end (date), $boroughs (text[])
-- Returns: scope, value, entities, readings
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

scoped as (
    select 'city' as scope, * from per_entity
    union all
    -- An empty selection means every borough.
    select 'selected' as scope, * from per_entity
    where len($boroughs) = 0 or list_contains($boroughs, borough_code)
)

select
    scope,
    case
        when $aggregation = 'mean' then sum(total) / sum(readings)
        when $aggregation = 'sum' then sum(total)
        when $area_aggregation = 'sum' then sum(peak)
        else max(peak)
    end as value,
    count(*) as entities,
    coalesce(sum(readings), 0) as readings
from scoped
group by scope
order by scope
