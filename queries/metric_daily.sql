-- A metric day by day for the selected boroughs and for the whole city, one row per scope and day.
-- Params: $dataset (text), $metric (text), $aggregation (text), $area_aggregation (text), $start (date), $end (date), $boroughs (text[])
-- Returns: scope, day, value, entities
with daily as (
    select *
    from entity_daily
    where dataset = $dataset
      and metric = $metric
      and day between $start and $end
),

scoped as (
    select 'city' as scope, * from daily
    union all
    select 'selected' as scope, * from daily
    where len($boroughs) = 0 or list_contains($boroughs, borough_code)
)

select
    scope,
    day,
    case
        when $aggregation = 'mean' then sum(total) / sum(n)
        when $aggregation = 'sum' then sum(total)
        when $area_aggregation = 'sum' then sum(peak)
        else max(peak)
    end as value,
    -- entity_daily holds one row per entity, day and metric, so a day's rows of one metric are its
    -- entities: counted without a distinct count, which was most of the query's time.
    count(*) as entities
from scoped
group by scope, day
order by scope, day
