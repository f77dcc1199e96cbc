-- How often each of the given datasets counts its entities over all its data, one row per dataset with any data.
-- Params: $datasets (text[])
-- Returns: dataset, entity_days, entity_years
--
-- Days per entity against years per entity tells a daily series from one sampled about once a
-- year (TfL's yearly counts, DfT's count days). That is a property of the dataset, not of the
-- period shown, so this does not take the dates and is asked once per data version.
with entity_days as (
    select distinct dataset, entity_id, day
    from entity_daily
    where list_contains($datasets, dataset)
)

select
    dataset,
    count(*) as entity_days,
    count(distinct (entity_id, year(day))) as entity_years
from entity_days
group by dataset
order by dataset
