-- metric_by_borough's contract with a deliberately slow body, for the page's time limit test, one row per borough.
-- Params: $dataset (text), $metric (text), $aggregation (text), $area_aggregation (text), $start (date), $end (date)
-- Returns: borough_code, borough_name, borough_group, value, entities, readings
with busy_work as (
    -- Minutes of counting: the page must give up on it after its time limit.
    select count(*) as matches
    from range(1000000000000) as numbers(i)
    where i % 7 = 3
      and $dataset is not null
      and $metric is not null
      and $aggregation is not null
      and $area_aggregation is not null
      and $start <= $end
)

select
    boroughs.borough_code,
    boroughs.borough_name,
    boroughs.borough_group,
    null::double as value,
    busy_work.matches as entities,
    0 as readings
from boroughs
cross join busy_work
order by boroughs.borough_code
