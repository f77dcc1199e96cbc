-- Daily mean of each pollutant in the selected boroughs, one row per borough, day and metric.
-- Params: $dataset (text), $metrics (text[]), $boroughs (text[]), $start (date), $end (date)
-- Returns: borough_code, borough_name, day, metric, value, total, readings, sites
select
    borough_daily.borough_code,
    boroughs.borough_name,
    borough_daily.day,
    borough_daily.metric,
    borough_daily.total / borough_daily.n as value,
    borough_daily.total,
    borough_daily.n as readings,
    borough_daily.entities as sites
from borough_daily
join boroughs using (borough_code)
where borough_daily.dataset = $dataset
  and list_contains($metrics, borough_daily.metric)
  and borough_daily.day between $start and $end
  and (len($boroughs) = 0 or list_contains($boroughs, borough_daily.borough_code))
order by borough_daily.metric, borough_daily.borough_code, borough_daily.day
