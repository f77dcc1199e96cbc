-- Chosen metrics of every entity by kind of local day (weekday, saturday, sunday) over a period, one row per entity, day type and metric.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date)
-- Returns: entity_id, borough_code, day_type, metric, total, days
with typed as (
    select
        entity_id,
        borough_code,
        metric,
        total,
        -- entity_daily's day is already the city's calendar day; bank holidays count as weekdays.
        case isodow(day) when 6 then 'saturday' when 7 then 'sunday' else 'weekday' end as day_type
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
)

select
    entity_id,
    borough_code,
    day_type,
    metric,
    sum(total) as total,
    count(*) as days
from typed
group by entity_id, borough_code, day_type, metric
order by entity_id, day_type, metric
