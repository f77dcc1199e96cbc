-- What each of the given datasets holds, overall and within a period, one row per dataset with any data.
-- Params: $datasets (text[]), $start (date), $end (date)
-- Returns: dataset, first_day, last_day, days_in_period, entities_in_period, entity_days_in_period, entity_years_in_period
with entity_days as (
    select dataset, entity_id, day
    from entity_daily
    where list_contains($datasets, dataset)
    group by dataset, entity_id, day
)

select
    dataset,
    min(day) as first_day,
    max(day) as last_day,
    count(distinct day) filter (where day between $start and $end) as days_in_period,
    count(distinct entity_id) filter (where day between $start and $end) as entities_in_period,
    -- Days per entity against years per entity tells a daily series from one sampled once a year.
    count(*) filter (where day between $start and $end) as entity_days_in_period,
    count(distinct (entity_id, year(day))) filter (where day between $start and $end) as entity_years_in_period
from entity_days
group by dataset
order by dataset
