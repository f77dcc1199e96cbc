-- Average reading of a metric by local hour of day, on weekdays and at weekends, one row per day type and hour.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date), $tz (text)
-- Returns: day_type, hour, value, readings, sensors
with readings as (
    select
        observations.entity_id,
        -- ts is UTC; hours and days are the city's local ones.
        timezone($tz, timezone('UTC', observations.ts)) as local_ts,
        observations.value
    from observations
    join entities
      on entities.dataset = observations.dataset
     and entities.entity_id = observations.entity_id
    where observations.dataset = $dataset
      and observations.metric = $metric
      -- A day either side in UTC holds every local day of the period; the exact days are kept below.
      and observations.ts >= $start::timestamp - interval 1 day
      and observations.ts < $end::timestamp + interval 2 day
      and (len($boroughs) = 0 or list_contains($boroughs, entities.borough_code))
)

select
    case when isodow(local_ts) >= 6 then 'weekend' else 'weekday' end as day_type,
    hour(local_ts) as hour,
    avg(value) as value,
    count(*) as readings,
    count(distinct entity_id) as sensors
from readings
where cast(local_ts as date) between $start and $end
group by day_type, hour
order by day_type, hour
