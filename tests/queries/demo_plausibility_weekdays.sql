-- Mean daily station entries on weekdays and at weekends, one row each (a plausibility check).
-- Params: (none)
-- Returns: weekend, entries
select isodow(day) >= 6 as weekend, avg(total) as entries
from entity_daily
where dataset = 'stations' and metric = 'entries'
group by weekend
order by weekend
