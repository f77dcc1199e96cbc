-- A sensor metric day by day in each selected borough and in the selection as a whole, one row per scope, borough and day.
-- Params: $dataset (text), $metric (text), $aggregation (text), $boroughs (text[]), $start (date), $end (date)
-- Returns: scope, borough_code, borough_name, day, value, readings, sensors
with daily as (
    select
        borough_daily.borough_code,
        boroughs.borough_name,
        borough_daily.day,
        borough_daily.n,
        borough_daily.total,
        borough_daily.peak,
        borough_daily.entities
    from borough_daily
    join boroughs using (borough_code)
    where borough_daily.dataset = $dataset
      and borough_daily.metric = $metric
      and borough_daily.day between $start and $end
      and (len($boroughs) = 0 or list_contains($boroughs, borough_daily.borough_code))
),

scoped as (
    select 'borough' as scope, borough_code, borough_name, day, n, total, peak, entities from daily
    union all
    select 'selection' as scope, null as borough_code, null as borough_name, day,
           sum(n), sum(total), max(peak), sum(entities)
    from daily
    group by day
)

select
    scope,
    borough_code,
    borough_name,
    day,
    case
        when $aggregation = 'mean' then total / n
        when $aggregation = 'sum' then total
        else peak
    end as value,
    n as readings,
    entities as sensors
from scoped
order by scope, borough_code nulls first, day
