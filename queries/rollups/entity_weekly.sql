-- Each entity's daily summaries per week (Monday to Sunday of the city's calendar), one row per entity, week and metric.
-- Params: $entity_daily (text)
-- Returns: entity_id, borough_code, week, metric, n, total, days, day_bits
--
-- Serves the weekly trends (transport_trend, transport_trend_by_borough): the weeks a period
-- covers whole come from here, the days either side from entity_daily. A week's rows are its
-- entities, and the days behind a week of several entities are the bit_or of their day_bits:
-- both without a distinct count over every daily row.
select
    entity_id,
    borough_code,
    cast(date_trunc('week', day) as date) as week,
    metric,
    sum(n) as n,
    sum(total) as total,
    -- entity_daily holds one row per entity, day and metric.
    count(*) as days,
    -- One bit per day of the week with data, Monday the lowest.
    bit_or(cast(1 as bigint) << (isodow(day) - 1)) as day_bits
from read_parquet($entity_daily)
group by all
order by metric, week, entity_id
