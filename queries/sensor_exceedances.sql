-- Readings of a metric above its thresholds, each compared only with the thresholds for its local time of day, one row per borough, local day with readings and threshold level; from the sensor_threshold_daily rollup.
-- Params: $dataset (text), $metric (text), $boroughs (text[]), $start (date), $end (date), $thresholds (text[])
-- Returns: borough_code, borough_name, day, level, sensors, readings, in_hours, above
-- $thresholds: one 'level:value:from_minute:to_minute' per threshold, in local minutes of the day (from inclusive, to exclusive).
-- Only for the thresholds the rollup was counted with (sensor_threshold_specs names them); others
-- stop the query with an error: sensor_exceedances_from_readings answers for them.
with asked as (
    select array_to_string(list_sort($thresholds), ',') as thresholds
),

levels as (
    select distinct level
    from (select try_cast(split_part(unnest($thresholds), ':', 1) as integer) as level)
    where level is not null
),

counted_with as (
    -- Rows counted with other thresholds would give wrong counts: the query stops instead.
    select coalesce(bool_or(thresholds <> (select thresholds from asked)), false) as other_thresholds
    from sensor_threshold_daily
    where dataset = $dataset
      and metric = $metric
      and day between $start and $end
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

above_per_level as (
    select
        selected_sensors.borough_code,
        sensor_threshold_daily.day,
        sensor_threshold_daily.level,
        sum(sensor_threshold_daily.in_hours)::bigint as in_hours,
        sum(sensor_threshold_daily.above)::bigint as above
    from sensor_threshold_daily
    join selected_sensors using (entity_id)
    where sensor_threshold_daily.dataset = $dataset
      and sensor_threshold_daily.metric = $metric
      and sensor_threshold_daily.day between $start and $end
    group by selected_sensors.borough_code, sensor_threshold_daily.day, sensor_threshold_daily.level
)

select
    readings_per_day.borough_code,
    boroughs.borough_name,
    readings_per_day.day,
    levels.level,
    readings_per_day.sensors,
    readings_per_day.readings,
    coalesce(above_per_level.in_hours, 0) as in_hours,
    case
        when counted_with.other_thresholds
            then error('sensor_threshold_daily was counted with other thresholds than ' || (select thresholds from asked))
        else coalesce(above_per_level.above, 0)
    end as above
from readings_per_day
cross join levels
cross join counted_with
join boroughs using (borough_code)
left join above_per_level
  on above_per_level.borough_code = readings_per_day.borough_code
 and above_per_level.day = readings_per_day.day
 and above_per_level.level = levels.level
order by readings_per_day.borough_code, readings_per_day.day, levels.level
