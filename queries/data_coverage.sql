-- The days covered by every dataset this session can see, one row.
-- Params: (none)
-- Returns: first_day, last_day, datasets
select
    min(day) as first_day,
    max(day) as last_day,
    count(distinct dataset) as datasets
from borough_daily
