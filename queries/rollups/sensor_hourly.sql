-- Each sensor's readings summed per metric, local calendar day and local hour; one row per sensor,
-- metric, day and hour.
-- Params: $observations (text), $tz (text), $sensor_data (boolean)
-- Returns: entity_id, metric, day, hour, n, total
--
-- Written for sensor datasets only ($sensor_data); for the others the table is empty. It serves
-- queries/sensor_daily_profile.sql, which would otherwise convert every reading of its period to
-- local time. Kept per sensor (not per borough as borough_hourly) so that the profile can count
-- the distinct sensors behind each hour. In the autumn the hour repeated when clocks go back holds
-- the readings of both.
with local_readings as (
    select
        entity_id,
        metric,
        ts,
        -- ts is UTC; the day and the hour are the city's calendar and clock.
        timezone($tz, timezone('UTC', ts)) as local_ts,
        value
    from read_parquet($observations)
    where $sensor_data
)

select
    entity_id,
    metric,
    cast(local_ts as date) as day,
    hour(local_ts) as hour,
    count(*) as n,
    -- Added in time order: the same seed must publish the same bytes (see borough_hourly).
    sum(value order by ts) as total
from local_readings
group by all
order by metric, day, hour, entity_id
