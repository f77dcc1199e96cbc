-- The reporting slots each sensor filled on each UTC day, and the empty slots between them inside
-- the day; one row per sensor and day. A slot is one expected interval, counted from 1970 (so a
-- window that starts on the grid numbers its slots by subtraction), filled by a reading of any metric.
-- Params: $observations (text), $interval_s (integer), $sensor_data (boolean)
-- Returns: entity_id, day, interval_s, filled, first_slot, last_slot, gaps, longest_gap
--
-- Written for sensor datasets only ($sensor_data); for the others the table is empty. It serves
-- queries/sensor_health.sql, which reads whole days from it and only the part-days at either end
-- of its window from the readings.
with filled_slots as (
    select distinct
        entity_id,
        -- ts is UTC, and so are these days: a day is then always a whole number of slots.
        cast(ts as date) as day,
        epoch_us(ts) // ($interval_s::bigint * 1000000) as slot
    from read_parquet($observations)
    where $sensor_data
),

slot_steps as (
    select
        entity_id,
        day,
        slot,
        slot - lag(slot) over (partition by entity_id, day order by slot) - 1 as empty_before
    from filled_slots
)

select
    entity_id,
    day,
    $interval_s::integer as interval_s,
    count(*) as filled,
    min(slot) as first_slot,
    max(slot) as last_slot,
    count(*) filter (where empty_before > 0) as gaps,
    coalesce(max(empty_before), 0) as longest_gap
from slot_steps
group by entity_id, day
order by day, entity_id
