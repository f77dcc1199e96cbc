-- Sub-daily metrics of a dataset by local day of the week and hour for the selected boroughs over a period, one row per day of the week and hour with data.
-- Params: $dataset (text), $metrics (text[]), $start (date), $end (date), $boroughs (text[])
-- Returns: day_of_week, hour, total, readings, days
--
-- From the hourly per-borough rollup, in the city's calendar and clock. days counts the days with
-- data at that hour of that day of the week.
select
    isodow(day) as day_of_week,
    hour,
    sum(total) as total,
    sum(n) as readings,
    count(distinct day) as days
from borough_hourly
where dataset = $dataset
  and list_contains($metrics, metric)
  and day between $start and $end
  -- An empty selection means the whole city, entities outside every borough included.
  and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
group by day_of_week, hour
order by day_of_week, hour
