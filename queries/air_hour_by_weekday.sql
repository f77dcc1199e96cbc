-- Mean of one pollutant by local hour of the day and day of the week in the selected boroughs, one row per weekday and hour.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date)
-- Returns: weekday, hour, value, readings
--
-- From the hourly per-borough rollup: hours and weekdays are the city's, so rush hours stay at
-- 8 am across BST.
select
    -- 1 = Monday .. 7 = Sunday.
    isodow(day) as weekday,
    hour,
    sum(total) / sum(n) as value,
    sum(n) as readings
from borough_hourly
where dataset = $dataset
  and metric = $metric
  and day between $start and $end
  -- An empty selection means the whole city, sites outside every borough included.
  and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
group by all
order by weekday, hour
