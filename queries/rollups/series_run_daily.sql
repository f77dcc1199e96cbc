-- Each series' runs of one repeated value on each UTC day, a series being one sensor's readings of
-- one metric in time order: the day's first and last runs, and its longest run in between (of any
-- value, and of a value other than zero); one row per sensor, metric and day.
-- Params: $observations (text), $sensor_data (boolean)
-- Returns: entity_id, metric, day, readings, first_run, last_run, inner_run, inner_nonzero_run
--
-- Each run is {value, readings, start_ts, end_ts}: its value, how many readings, the times of its
-- first and last. When one run is the whole day, first_run and last_run are that run. A longest run
-- between is the earliest of the longest, and only runs of two readings or more count. Written for
-- sensor datasets only ($sensor_data). It serves queries/sensor_health.sql: a run that goes on
-- over midnight is the last run of one day and the first of the next, joined there.
with readings as (
    select entity_id, metric, cast(ts as date) as day, ts, value
    from read_parquet($observations)
    where $sensor_data
),

steps as (
    select
        entity_id,
        metric,
        day,
        ts,
        value,
        value = lag(value) over series_day as repeats,
        lag(ts) over series_day as previous_ts,
        row_number() over series_day as position
    from readings
    window series_day as (partition by entity_id, metric, day order by ts)
),

days as (
    -- A change is a reading whose value differs from the one before: the first run ends before the
    -- day's first change, the last run starts at its last.
    select
        entity_id,
        metric,
        day,
        count(*) as readings,
        arg_min(value, ts) as first_value,
        min(ts) as first_ts,
        max(ts) as last_ts,
        min(position) filter (where not repeats) as first_change,
        arg_min(previous_ts, position) filter (where not repeats) as first_run_end,
        max(position) filter (where not repeats) as last_change,
        arg_max(value, position) filter (where not repeats) as last_change_value,
        arg_max(ts, position) filter (where not repeats) as last_change_ts
    from steps
    group by entity_id, metric, day
),

inner_repeats as (
    -- Repeats strictly after the first change and before the last: inside the day's inner runs
    -- (a run's first reading is not a repeat, so a run of k readings has k - 1 of them).
    select
        steps.entity_id,
        steps.metric,
        steps.day,
        steps.value,
        steps.ts,
        steps.previous_ts,
        steps.position - row_number() over (partition by steps.entity_id, steps.metric, steps.day
                                            order by steps.position) as spell
    from steps
    join days using (entity_id, metric, day)
    where steps.repeats
      and steps.position > days.first_change
      and steps.position < days.last_change
),

inner_runs as (
    select
        entity_id,
        metric,
        day,
        {'value': any_value(value), 'readings': count(*) + 1, 'start_ts': min(previous_ts), 'end_ts': max(ts)} as run
    from inner_repeats
    group by entity_id, metric, day, spell
),

longest_inner_runs as (
    select
        entity_id,
        metric,
        day,
        first(run order by run.readings desc, run.start_ts) as inner_run,
        first(run order by run.readings desc, run.start_ts) filter (where run.value <> 0) as inner_nonzero_run
    from inner_runs
    group by entity_id, metric, day
)

select
    days.entity_id,
    days.metric,
    days.day,
    days.readings,
    case
        when days.first_change is null
            then {'value': days.first_value, 'readings': days.readings, 'start_ts': days.first_ts, 'end_ts': days.last_ts}
        else {'value': days.first_value, 'readings': days.first_change - 1, 'start_ts': days.first_ts,
              'end_ts': days.first_run_end}
    end as first_run,
    case
        when days.first_change is null
            then {'value': days.first_value, 'readings': days.readings, 'start_ts': days.first_ts, 'end_ts': days.last_ts}
        else {'value': days.last_change_value, 'readings': days.readings - days.last_change + 1,
              'start_ts': days.last_change_ts, 'end_ts': days.last_ts}
    end as last_run,
    longest_inner_runs.inner_run,
    longest_inner_runs.inner_nonzero_run
from days
left join longest_inner_runs using (entity_id, metric, day)
order by days.metric, days.day, days.entity_id
