-- What each of the given datasets holds, overall and within a period, one row per dataset with any data.
-- Params: $datasets (text[]), $start (date), $end (date)
-- Returns: dataset, first_day, last_day, days_in_period
--
-- It runs on every date change, so it reads the per-borough rollup (rows per borough and day,
-- whatever the number of entities). Entities in no borough are not in that rollup: a period
-- holding only those reads as empty.
select
    dataset,
    min(day) as first_day,
    max(day) as last_day,
    count(distinct day) filter (where day between $start and $end) as days_in_period
from borough_daily
where list_contains($datasets, dataset)
group by dataset
order by dataset
