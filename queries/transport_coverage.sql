-- What each of the given datasets holds, overall and within a period, one row per dataset with any data.
-- Params: $datasets (text[]), $start (date), $end (date)
-- Returns: dataset, first_day, last_day, days_in_period, entities_in_period, entity_days_in_period, entity_years_in_period
--
-- The span is read from the per-borough rollup (far fewer rows); the distinct counts only look at
-- the period's entity days, so a short period costs little however long the history is.
with spans as (
    select dataset, min(day) as first_day, max(day) as last_day
    from borough_daily
    where list_contains($datasets, dataset)
    group by dataset
),

period_entity_days as (
    select dataset, entity_id, day
    from entity_daily
    where list_contains($datasets, dataset) and day between $start and $end
    group by dataset, entity_id, day
),

period_counts as (
    select
        dataset,
        count(distinct day) as days_in_period,
        count(distinct entity_id) as entities_in_period,
        count(*) as entity_days_in_period,
        -- Days per entity against years per entity tells a daily series from one sampled once a year.
        count(distinct (entity_id, year(day))) as entity_years_in_period
    from period_entity_days
    group by dataset
)

select
    spans.dataset,
    spans.first_day,
    spans.last_day,
    coalesce(period_counts.days_in_period, 0) as days_in_period,
    coalesce(period_counts.entities_in_period, 0) as entities_in_period,
    coalesce(period_counts.entity_days_in_period, 0) as entity_days_in_period,
    coalesce(period_counts.entity_years_in_period, 0) as entity_years_in_period
from spans
left join period_counts using (dataset)
order by spans.dataset
