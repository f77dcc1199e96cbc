-- Row count and metric ids of one dataset's observations, one row.
-- Params: $dataset (text)
-- Returns: observations, metrics
select
    count(*) as observations,
    list(distinct metric) as metrics
from observations
where dataset = $dataset
