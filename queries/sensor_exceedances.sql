-- Readings of a metric above its thresholds, each compared only with the thresholds for its local time of day, one row per borough, local day with readings and threshold level.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date), $tz (text), $thresholds (text[])
-- Returns: borough_code, borough_name, day, level, sensors, readings, in_hours, above
-- $thresholds: one 'level:value:from_minute:to_minute' per threshold, in local minutes of the day (from inclusive, to exclusive).
with thresholds as (
    select
        try_cast(split_part(entry, ':', 1) as integer) as level,
        try_cast(split_part(entry, ':', 2) as double) as limit_value,
        try_cast(split_part(entry, ':', 3) as integer) as from_minute,
        try_cast(split_part(entry, ':', 4) as integer) as to_minute
    from (select unnest($thresholds) as entry)
),

readings as (
    select
        observations.entity_id,
        entities.borough_code,
        -- ts is UTC; the day and the time of day are the city's.
        timezone($tz, timezone('UTC', observations.ts)) as local_ts,
        observations.value
    from observations
    join entities
      on entities.dataset = observations.dataset
     and entities.entity_id = observations.entity_id
    where observations.dataset = $dataset
      and observations.metric = $metric
      -- A day either side in UTC holds every local day of the period; the exact days are kept below.
      and observations.ts >= $start::timestamp - interval 1 day
      and observations.ts < $end::timestamp + interval 2 day
      and (len($boroughs) = 0 or list_contains($boroughs, entities.borough_code))
),

local_readings as (
    select
        entity_id,
        borough_code,
        cast(local_ts as date) as day,
        hour(local_ts) * 60 + minute(local_ts) as minute_of_day,
        value
    from readings
    where cast(local_ts as date) between $start and $end
),

readings_per_day as (
    select
        borough_code,
        day,
        count(distinct entity_id) as sensors,
        count(*) as readings
    from local_readings
    group by borough_code, day
),

compared as (
    -- Each reading beside the thresholds that apply at its time of day (23:00-07:00 wraps past midnight).
    select
        local_readings.borough_code,
        local_readings.day,
        thresholds.level,
        local_readings.value > thresholds.limit_value as is_above
    from local_readings
    join thresholds
      on case
             when thresholds.from_minute < thresholds.to_minute
                 then local_readings.minute_of_day >= thresholds.from_minute
                  and local_readings.minute_of_day < thresholds.to_minute
             else local_readings.minute_of_day >= thresholds.from_minute
               or local_readings.minute_of_day < thresholds.to_minute
         end
),

above_per_level as (
    select
        borough_code,
        day,
        level,
        count(*) as in_hours,
        count(*) filter (where is_above) as above
    from compared
    group by borough_code, day, level
),

levels as (
    select distinct level from thresholds where level is not null
)

select
    readings_per_day.borough_code,
    boroughs.borough_name,
    readings_per_day.day,
    levels.level,
    readings_per_day.sensors,
    readings_per_day.readings,
    coalesce(above_per_level.in_hours, 0) as in_hours,
    coalesce(above_per_level.above, 0) as above
from readings_per_day
cross join levels
join boroughs using (borough_code)
left join above_per_level
  on above_per_level.borough_code = readings_per_day.borough_code
 and above_per_level.day = readings_per_day.day
 and above_per_level.level = levels.level
order by readings_per_day.borough_code, readings_per_day.day, levels.level
