-- Mean of one pollutant by local hour of the day and day of the week in the selected boroughs, one row per weekday and hour.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date), $tz (text)
-- Returns: weekday, hour, value, readings
with sites as (
    select entity_id
    from entities
    where dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

local_readings as (
    -- ts is UTC; hours and weekdays are the city's, so rush hours stay at 8 am across BST.
    select
        timezone($tz, timezone('UTC', observations.ts)) as local_ts,
        observations.value
    from observations
    where observations.dataset = $dataset
      and observations.metric = $metric
      and observations.ts >= timezone('UTC', timezone($tz, cast($start as timestamp)))
      and observations.ts < timezone('UTC', timezone($tz, cast($end + 1 as timestamp)))
      and observations.entity_id in (select entity_id from sites)
)

select
    -- 1 = Monday .. 7 = Sunday.
    isodow(local_ts) as weekday,
    hour(local_ts) as hour,
    avg(value) as value,
    count(*) as readings
from local_readings
group by all
order by weekday, hour
