-- Readings of a metric above its lower and upper thresholds, one row per borough and local day with readings.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date), $tz (text), $lower (double), $upper (double)
-- Returns: borough_code, borough_name, day, sensors, readings, above_lower, above_upper
with readings as (
    select
        observations.entity_id,
        entities.borough_code,
        -- ts is UTC; the day is the city's calendar day.
        cast(timezone($tz, timezone('UTC', observations.ts)) as date) as day,
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
    readings.borough_code,
    boroughs.borough_name,
    readings.day,
    count(distinct readings.entity_id) as sensors,
    count(*) as readings,
    count(*) filter (where readings.value > $lower) as above_lower,
    count(*) filter (where readings.value > $upper) as above_upper
from readings
join boroughs using (borough_code)
where readings.day between $start and $end
group by readings.borough_code, boroughs.borough_name, readings.day
order by readings.borough_code, readings.day
