-- Mean NO2 by monitoring site type over all demo data, one row per site type (a plausibility check).
-- Params: (none)
-- Returns: kind, no2
with readings as (
    select entity_id, sum(total) / sum(n) as no2
    from entity_daily
    where dataset = 'air_quality' and metric = 'no2'
    group by entity_id
)

select entities.kind, avg(readings.no2) as no2
from readings
join entities on entities.dataset = 'air_quality' and entities.entity_id = readings.entity_id
group by entities.kind
order by entities.kind
