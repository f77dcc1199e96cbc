-- Row count and metric ids (sorted) of one dataset's observations, one row.
-- Params: $dataset (text)
-- Returns: observations, metrics
select
    count(*) as observations,
    list(distinct metric order by metric) as metrics
from observations
where dataset = $dataset
