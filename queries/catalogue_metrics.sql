-- What each metric of the datasets this session can see holds, one row per dataset and metric.
-- Params: (none)
-- Returns: dataset, metric, entities, observations, first_day, last_day
select
    dataset,
    metric,
    count(distinct entity_id) as entities,
    cast(sum(n) as bigint) as observations,
    min(day) as first_day,
    max(day) as last_day
from entity_daily
group by dataset, metric
order by dataset, metric
