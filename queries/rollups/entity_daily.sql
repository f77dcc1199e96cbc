-- Daily summary of each entity's readings, one row per entity, local calendar day and metric.
-- Params: $observations (text), $entities (text), $tz (text)
-- Returns: entity_id, borough_code, day, metric, n, total, peak, low
with readings as (
    select
        entity_id,
        metric,
        value,
        -- ts is UTC; the day is the city's calendar day, so a BST evening counts on the right day.
        cast(timezone($tz, timezone('UTC', ts)) as date) as day
    from read_parquet($observations)
),

entities as (
    select entity_id, borough_code from read_parquet($entities)
)

select
    readings.entity_id,
    entities.borough_code,
    readings.day,
    readings.metric,
    count(*) as n,
    sum(readings.value) as total,
    max(readings.value) as peak,
    min(readings.value) as low
from readings
left join entities using (entity_id)
group by all
order by readings.metric, readings.day, readings.entity_id
