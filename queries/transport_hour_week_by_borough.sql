-- Sub-daily metrics of a dataset per borough by local day of the week and hour over a period, one row per borough, day of the week and hour with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $boroughs (text[]), $tz (text)
-- Returns: borough_code, borough_name, day_of_week, hour, total, readings, days
with selected_entities as (
    select entity_id, borough_code
    from entities
    where dataset = $dataset
      and borough_code is not null
      -- An empty selection means every borough.
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

-- Summed per borough and UTC instant first: the time zone conversion then runs once per borough
-- and hour, not per reading.
borough_instants as (
    select
        selected_entities.borough_code,
        observations.ts,
        sum(observations.value) as total,
        count(*) as readings
    from observations
    join selected_entities using (entity_id)
    where observations.dataset = $dataset
      and list_contains($metrics, observations.metric)
      -- A day either side: the local period starts and ends up to a day away from UTC.
      and observations.ts >= cast($start as timestamp) - interval 1 day
      and observations.ts < cast($end as timestamp) + interval 2 day
    group by selected_entities.borough_code, observations.ts
),

borough_local_instants as (
    select
        borough_code,
        -- ts is UTC; the hour and the day are the city's local clock and calendar.
        timezone($tz, timezone('UTC', ts)) as local_ts,
        total,
        readings
    from borough_instants
),

borough_hours as (
    select
        borough_code,
        isodow(cast(local_ts as date)) as day_of_week,
        hour(local_ts) as hour,
        sum(total) as total,
        sum(readings) as readings,
        -- Days with data in this borough: its average is over the days it was counted.
        count(distinct cast(local_ts as date)) as days
    from borough_local_instants
    where cast(local_ts as date) between $start and $end
    group by borough_code, day_of_week, hour
)

select
    borough_hours.borough_code,
    boroughs.borough_name,
    borough_hours.day_of_week,
    borough_hours.hour,
    borough_hours.total,
    borough_hours.readings,
    borough_hours.days
from borough_hours
left join boroughs using (borough_code)
order by boroughs.borough_name, borough_hours.day_of_week, borough_hours.hour
