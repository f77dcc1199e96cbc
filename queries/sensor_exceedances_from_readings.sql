-- Readings of a metric above thresholds, each compared only with the thresholds for its local time of day, one row per borough, local day with readings and threshold level; from the readings, for thresholds other than the ones sensor_threshold_daily was counted with (see sensor_exceedances.sql).
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date), $tz (text), $thresholds (text[])
-- Returns: borough_code, borough_name, day, level, sensors, readings, in_hours, above
-- $thresholds: one 'level:value:from_minute:to_minute' per threshold, in local minutes of the day (from inclusive, to exclusive).
with utc_offsets as (
    -- The city's offset from UTC for each quarter hour of the period (a day either side): converting
    -- each reading to local time with timezone() took most of this query's time. Clocks change on a
    -- quarter hour in every time zone, so a reading's quarter has its offset.
    select
        quarter_start,
        timezone($tz, timezone('UTC', quarter_start)) - quarter_start as utc_offset
    from range($start::timestamp - interval 1 day, $end::timestamp + interval 2 day, interval 15 minute)
        as quarters(quarter_start)
),

thresholds as (
    select
        try_cast(split_part(entry, ':', 1) as integer) as level,
        try_cast(split_part(entry, ':', 2) as double) as limit_value,
        try_cast(split_part(entry, ':', 3) as integer) as from_minute,
        try_cast(split_part(entry, ':', 4) as integer) as to_minute
    from (select unnest($thresholds) as entry)
),

selected_sensors as (
    select entity_id, borough_code
    from entities
    where dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, borough_code))
),

readings_per_day as (
    -- From the daily rollup, whose days are the city's too.
    select
        selected_sensors.borough_code,
        entity_daily.day,
        count(distinct entity_daily.entity_id) as sensors,
        sum(entity_daily.n) as readings
    from entity_daily
    join selected_sensors using (entity_id)
    where entity_daily.dataset = $dataset
      and entity_daily.metric = $metric
      and entity_daily.day between $start and $end
    group by selected_sensors.borough_code, entity_daily.day
),

local_readings as (
    select
        selected_sensors.borough_code,
        observations.ts + utc_offsets.utc_offset as local_ts,
        observations.value
    from observations
    join selected_sensors using (entity_id)
    join utc_offsets on utc_offsets.quarter_start = time_bucket(interval 15 minute, observations.ts)
    where observations.dataset = $dataset
      and observations.metric = $metric
      -- A day either side in UTC holds every local day of the period; the exact days are kept below.
      and observations.ts >= $start::timestamp - interval 1 day
      and observations.ts < $end::timestamp + interval 2 day
),

readings_in_period as (
    select
        borough_code,
        cast(local_ts as date) as day,
        hour(local_ts) * 60 + minute(local_ts) as minute_of_day,
        value
    from local_readings
    where cast(local_ts as date) between $start and $end
),

compared as (
    -- Each reading beside the thresholds that apply at its time of day (23:00-07:00 wraps past midnight).
    select
        readings_in_period.borough_code,
        readings_in_period.day,
        thresholds.level,
        readings_in_period.value > thresholds.limit_value as is_above
    from readings_in_period
    join thresholds
      on case
             when thresholds.from_minute < thresholds.to_minute
                 then readings_in_period.minute_of_day >= thresholds.from_minute
                  and readings_in_period.minute_of_day < thresholds.to_minute
             else readings_in_period.minute_of_day >= thresholds.from_minute
               or readings_in_period.minute_of_day < thresholds.to_minute
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
