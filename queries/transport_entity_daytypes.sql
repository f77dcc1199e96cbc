-- Chosen metrics of every entity by kind of local day (weekday, saturday, sunday) over a period, one row per entity, day type and metric.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date)
-- Returns: entity_id, borough_code, day_type, metric, total, days
--
-- The months the period covers whole come from entity_monthly, which keeps each month's day types
-- apart; the days either side of them from entity_daily (see transport_entity_metrics).
with whole_months as (
    select entity_id, borough_code, day_type, metric, total, days
    from entity_monthly
    where dataset = $dataset
      and list_contains($metrics, metric)
      -- From the first month starting on or after $start, to the last one ending on or before $end.
      and month >= cast(date_trunc('month', cast($start as date) - 1) + interval 1 month as date)
      and month < cast(date_trunc('month', cast($end as date) + 1) as date)
),

days_either_side as (
    select
        entity_id,
        borough_code,
        -- entity_daily's day is already the city's calendar day; bank holidays count as weekdays.
        case isodow(day) when 6 then 'saturday' when 7 then 'sunday' else 'weekday' end as day_type,
        metric,
        total,
        1 as days
    from entity_daily
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and (day < cast(date_trunc('month', cast($start as date) - 1) + interval 1 month as date)
           or day >= cast(date_trunc('month', cast($end as date) + 1) as date))
)

select
    entity_id,
    borough_code,
    day_type,
    metric,
    sum(total) as total,
    sum(days) as days
from (
    select * from whole_months
    union all
    select * from days_either_side
)
group by entity_id, borough_code, day_type, metric
order by entity_id, day_type, metric
