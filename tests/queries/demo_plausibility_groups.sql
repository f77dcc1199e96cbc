-- Mean NO2 by borough group over all demo data, one row per group (a plausibility check).
-- Params: (none)
-- Returns: borough_group, no2
select boroughs.borough_group, sum(daily.total) / sum(daily.n) as no2
from borough_daily as daily
join boroughs using (borough_code)
where daily.dataset = 'air_quality' and daily.metric = 'no2'
group by boroughs.borough_group
order by boroughs.borough_group
