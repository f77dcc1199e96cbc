-- Average reading of a metric by local hour of day, on weekdays and at weekends, one row per day type and hour.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date)
-- Returns: day_type, hour, value, readings, sensors
with sensor_hours as (
    select
        sensor_hourly.entity_id,
        sensor_hourly.day,
        sensor_hourly.hour,
        sensor_hourly.n,
        sensor_hourly.total
    from sensor_hourly
    join entities
      on entities.dataset = sensor_hourly.dataset
     and entities.entity_id = sensor_hourly.entity_id
    where sensor_hourly.dataset = $dataset
      and sensor_hourly.metric = $metric
      and sensor_hourly.day between $start and $end
      and (len($boroughs) = 0 or list_contains($boroughs, entities.borough_code))
)

select
    case when isodow(day) >= 6 then 'weekend' else 'weekday' end as day_type,
    hour,
    sum(total) / sum(n) as value,
    sum(n) as readings,
    count(distinct entity_id) as sensors
from sensor_hours
group by day_type, hour
order by day_type, hour
