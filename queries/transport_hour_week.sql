-- Sub-daily metrics of a dataset by local day of the week and hour for the selected boroughs over a period, one row per day of the week and hour with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $boroughs (text[]), $tz (text)
-- Returns: day_of_week, hour, total, readings, days
with selected_entities as (
    select entity_id
    from entities
    where dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

-- Summed per UTC instant first: the time zone conversion then runs once per hour, not per reading.
per_instant as (
    select
        ts,
        sum(value) as total,
        count(*) as readings
    from observations
    join selected_entities using (entity_id)
    where dataset = $dataset
      and list_contains($metrics, metric)
      -- A day either side: the local period starts and ends up to a day away from UTC.
      and ts >= cast($start as timestamp) - interval 1 day
      and ts < cast($end as timestamp) + interval 2 day
    group by ts
),

local_instants as (
    select
        -- ts is UTC; the hour and the day are the city's local clock and calendar.
        timezone($tz, timezone('UTC', ts)) as local_ts,
        total,
        readings
    from per_instant
)

select
    isodow(cast(local_ts as date)) as day_of_week,
    hour(local_ts) as hour,
    sum(total) as total,
    sum(readings) as readings,
    count(distinct cast(local_ts as date)) as days
from local_instants
where cast(local_ts as date) between $start and $end
group by day_of_week, hour
order by day_of_week, hour
