-- Each entity's daily summaries per local calendar month and kind of day, one row per entity, month, day type and metric.
-- Params: $entity_daily (text)
-- Returns: entity_id, borough_code, month, day_type, metric, n, total, peak, low, days
--
-- Serves queries over long periods (transport_entity_metrics, transport_entity_daytypes): the months
-- a period covers whole come from here, a tenth of entity_daily's rows, and only the days either
-- side from entity_daily. entity_daily's days are already the city's calendar days.
select
    entity_id,
    borough_code,
    cast(date_trunc('month', day) as date) as month,
    -- Bank holidays count as weekdays.
    case isodow(day) when 6 then 'saturday' when 7 then 'sunday' else 'weekday' end as day_type,
    metric,
    sum(n) as n,
    sum(total) as total,
    max(peak) as peak,
    min(low) as low,
    -- entity_daily holds one row per entity, day and metric.
    count(*) as days
from read_parquet($entity_daily)
group by all
order by metric, month, entity_id, day_type
