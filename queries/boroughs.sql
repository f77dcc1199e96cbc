-- The city's areas (boroughs), one row per area.
-- Params: (none)
-- Returns: borough_code, borough_name, borough_group, area_ha
select
    borough_code,
    borough_name,
    borough_group,
    area_ha
from boroughs
order by borough_code
