-- One sensor's readings of a metric in a time range, with the city's local time, one row per reading.
-- Params: $dataset (text), $metric (text), $entity (text), $from_ts (timestamp), $to_ts (timestamp), $tz (text)
-- Returns: ts, local_ts, day, value
with readings as (
    select
        ts,
        -- ts is UTC; local time is the city's wall-clock time.
        timezone($tz, timezone('UTC', ts)) as local_ts,
        value
    from observations
    where dataset = $dataset
      and metric = $metric
      and entity_id = $entity
      and ts >= $from_ts
      and ts < $to_ts
)

select
    ts,
    local_ts,
    cast(local_ts as date) as day,
    value
from readings
order by ts
