-- Sub-daily metrics of a dataset per borough by local day of the week and hour over a period, one row per borough, day of the week and hour with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $boroughs (text[])
-- Returns: borough_code, borough_name, day_of_week, hour, total, readings, days
--
-- From the hourly per-borough rollup, in the city's calendar and clock.
with borough_hours as (
    select
        borough_code,
        isodow(day) as day_of_week,
        hour,
        sum(total) as total,
        sum(n) as readings,
        -- Days with data in this borough: its average is over the days it was counted.
        count(distinct day) as days
    from borough_hourly
    where dataset = $dataset
      and list_contains($metrics, metric)
      and day between $start and $end
      and borough_code is not null
      -- An empty selection means every borough.
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
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
