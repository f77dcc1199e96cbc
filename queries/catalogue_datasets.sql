-- What each dataset this session can see holds, one row per dataset.
-- Params: (none)
-- Returns: dataset, entities, observations, metrics, boroughs, first_day, last_day
with readings_per_dataset as (
    -- Each observation is counted once in its entity's day, so sum(n) is the number of observations.
    select
        dataset,
        sum(n) as observations,
        count(distinct metric) as metrics,
        min(day) as first_day,
        max(day) as last_day
    from entity_daily
    group by dataset
),

places_per_dataset as (
    select
        dataset,
        count(*) as entities,
        count(distinct borough_code) as boroughs
    from entities
    group by dataset
)

select
    visible_datasets.dataset,
    coalesce(places_per_dataset.entities, 0) as entities,
    cast(coalesce(readings_per_dataset.observations, 0) as bigint) as observations,
    coalesce(readings_per_dataset.metrics, 0) as metrics,
    coalesce(places_per_dataset.boroughs, 0) as boroughs,
    readings_per_dataset.first_day,
    readings_per_dataset.last_day
from visible_datasets
left join readings_per_dataset using (dataset)
left join places_per_dataset using (dataset)
order by visible_datasets.dataset
