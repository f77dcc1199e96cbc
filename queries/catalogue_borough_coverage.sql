-- Where each dataset this session can see has places and readings, one row per dataset and borough with at least one place.
-- Params: (none)
-- Returns: dataset, borough_code, borough_name, entities, observations
with places as (
    select
        dataset,
        borough_code,
        count(*) as entities
    from entities
    where borough_code is not null
    group by dataset, borough_code
),

readings as (
    select
        dataset,
        borough_code,
        sum(n) as observations
    from entity_daily
    group by dataset, borough_code
)

select
    places.dataset,
    places.borough_code,
    boroughs.borough_name,
    places.entities,
    cast(coalesce(readings.observations, 0) as bigint) as observations
from places
join boroughs using (borough_code)
left join readings using (dataset, borough_code)
order by places.dataset, places.borough_code
