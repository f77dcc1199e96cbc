-- Hourly summary per borough, one row per borough, local calendar day, local hour and metric.
-- Params: $observations (text), $entities (text), $tz (text)
-- Returns: borough_code, day, hour, metric, n, total
--
-- Entities outside every borough keep their rows, under a null borough_code: a city-wide
-- pattern counts them, a borough's does not. In the autumn the hour repeated when clocks go back
-- holds the readings of both.
with readings as (
    select entity_id, ts, metric, value
    from read_parquet($observations)
),

entities as (
    select entity_id, borough_code
    from read_parquet($entities)
),

-- Summed per borough and UTC instant first: the time zone conversion then runs once per borough
-- and instant, not once per reading.
borough_instants as (
    select
        entities.borough_code,
        readings.metric,
        readings.ts,
        count(*) as n,
        sum(readings.value) as total
    from readings
    left join entities using (entity_id)
    group by all
),

local_instants as (
    select
        borough_code,
        metric,
        ts,
        -- ts is UTC; the day and the hour are the city's calendar and clock.
        timezone($tz, timezone('UTC', ts)) as local_ts,
        n,
        total
    from borough_instants
)

select
    borough_code,
    cast(local_ts as date) as day,
    hour(local_ts) as hour,
    metric,
    sum(n) as n,
    -- Added in time order: the instants arrive from a parallel aggregate in any order, and
    -- floating-point sums in another order differ in the last bits (the same seed must publish
    -- the same bytes).
    sum(total order by ts) as total
from local_instants
group by all
order by metric, day, hour, borough_code
