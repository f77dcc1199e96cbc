-- Each street sensor's readings of a metric compared with the catalogue's thresholds for their
-- local time of day, per local calendar day and threshold level; one row per sensor, metric, day
-- and level with readings then, and a row with no level for the readings no threshold applied to
-- (so each metric with thresholds and readings has rows that say which thresholds counted them).
-- Params: $observations (text), $tz (text), $thresholds (text[]), $sensor_data (boolean)
-- Returns: entity_id, metric, day, level, thresholds, in_hours, above
-- $thresholds: one 'metric:level:value:from_minute:to_minute' per threshold, in local minutes of
-- the day (from inclusive, to exclusive), as citydash.sensors.dataset_threshold_entries writes them.
--
-- Written for sensor datasets only ($sensor_data); for the others the table is empty. It serves
-- queries/sensor_exceedances.sql. `thresholds` holds the metric's thresholds the rows were
-- counted with ('level:value:from_minute:to_minute', sorted, comma-separated), so that a question
-- with other thresholds is never answered from them.
with thresholds as (
    select
        split_part(entry, ':', 1) as metric,
        -- The threshold as sensor_exceedances is asked for it: the entry without its metric.
        substr(entry, length(split_part(entry, ':', 1)) + 2) as asked_as,
        try_cast(split_part(entry, ':', 2) as integer) as level,
        try_cast(split_part(entry, ':', 3) as double) as limit_value,
        try_cast(split_part(entry, ':', 4) as integer) as from_minute,
        try_cast(split_part(entry, ':', 5) as integer) as to_minute
    from (select unnest($thresholds) as entry)
),

metric_thresholds as (
    select metric, string_agg(asked_as, ',' order by asked_as) as thresholds
    from thresholds
    group by metric
),

local_readings as (
    select
        entity_id,
        metric,
        -- ts is UTC; the day and the time of day are the city's.
        timezone($tz, timezone('UTC', ts)) as local_ts,
        value
    from read_parquet($observations)
    where $sensor_data
      and metric in (select metric from thresholds)
),

compared as (
    -- Each reading beside the thresholds that apply at its time of day (23:00-07:00 wraps past midnight).
    select
        local_readings.entity_id,
        local_readings.metric,
        cast(local_readings.local_ts as date) as day,
        thresholds.level,
        local_readings.value > thresholds.limit_value as is_above
    from local_readings
    left join thresholds
      on thresholds.metric = local_readings.metric
     and case
             when thresholds.from_minute < thresholds.to_minute
                 then hour(local_ts) * 60 + minute(local_ts) >= thresholds.from_minute
                  and hour(local_ts) * 60 + minute(local_ts) < thresholds.to_minute
             else hour(local_ts) * 60 + minute(local_ts) >= thresholds.from_minute
               or hour(local_ts) * 60 + minute(local_ts) < thresholds.to_minute
         end
)

select
    compared.entity_id,
    compared.metric,
    compared.day,
    compared.level,
    metric_thresholds.thresholds,
    count(*) as in_hours,
    count(*) filter (where compared.is_above) as above
from compared
join metric_thresholds using (metric)
group by compared.entity_id, compared.metric, compared.day, compared.level, metric_thresholds.thresholds
order by compared.metric, compared.day, compared.entity_id, compared.level
