-- Health of each sensor of a dataset over a period by the rules of citydash.sensors.sensor_health, one row per sensor.
-- Params: $dataset (text), $boroughs (text[]), $now (timestamp), $period_start (timestamp), $period_end (timestamp), $interval_s (integer), $stuck_after (integer), $stale_s (integer), $dead_s (integer), $min_uptime_pct (double), $zero_ok (text[]), $ranges (text[])
-- Returns: entity_id, name, kind, borough_code, borough_name, lat, lon, last_seen, readings, uptime_pct, gap_count, longest_gap_slots, stale, stuck_runs, out_of_range, out_of_range_by_metric, status
-- $ranges: one 'metric:low:high' per metric with a range (inclusive); $zero_ok: metrics whose runs of zeros are normal.
--
-- $dataset is a street-sensor dataset, for which the rollups below are written.
-- Gaps and repeated values need the readings in order. Whole UTC days inside the window come from
-- the rollups sensor_slot_daily and series_run_daily, and only the part-days at either end from
-- the readings: the sorts below order a few pieces per sensor and day instead of every reading.
-- When the window does not start on the slots' grid, every reading is a piece, which gives the
-- same answer from the readings alone (about twice the old query's time). Each sensor's last
-- reading, and the counts, come from the rollups and the part-days too. Readings out of range are
-- few, and in few series: entity_daily's lowest and highest of each day name those series, and
-- only their readings in the window are read.
with sensors as (
    select
        entities.entity_id,
        entities.name,
        entities.kind,
        entities.borough_code,
        boroughs.borough_name,
        entities.lat,
        entities.lon
    from entities
    left join boroughs using (borough_code)
    where entities.dataset = $dataset
      and (len($boroughs) = 0 or list_contains($boroughs, entities.borough_code))
),

settings as (
    select
        $interval_s::bigint * 1000000 as interval_us,
        -- Whole expected slots from the period start to the earlier of its end and now.
        greatest(date_diff('microsecond', $period_start, least($period_end, $now)), 0)
            // ($interval_s::bigint * 1000000) as slot_count,
        epoch_us($period_start) // ($interval_s::bigint * 1000000) as first_slot_on_grid,
        -- The whole UTC days from the period start to the earlier of its end and now.
        cast(date_trunc('day', $period_start) as date)
            + (date_trunc('day', $period_start) < $period_start)::integer as first_whole_day,
        cast(date_trunc('day', least($period_end, $now)) as date) as end_whole_day,
        epoch_us($period_start) % ($interval_s::bigint * 1000000) = 0
            and 86400 % $interval_s = 0 as on_grid,
        -- The app works out again a rollup made for another interval; asked with another one than
        -- the rollup's, the query stops with an error rather than count slots on the wrong grid.
        exists (
            select 1 from sensor_slot_daily
            where sensor_slot_daily.dataset = $dataset and sensor_slot_daily.interval_s <> $interval_s
        ) as other_grid
),

rollup_span as (
    -- The days the rollups answer: none when the window is off the grid.
    select
        first_whole_day as first_day,
        case when on_grid then greatest(end_whole_day, first_whole_day) else first_whole_day end as end_day
    from settings
),

sensor_numbers as (
    -- Integer keys for each sensor and each of its series (a sensor's readings of one metric):
    -- the window functions below sort on them about twice as fast as on text.
    select entity_id, row_number() over (order by entity_id) as sensor_no
    from sensors
),

metric_numbers as (
    select metric, row_number() over (order by metric) as metric_no, count(*) over () as metric_count
    from (select distinct metric from entity_daily where dataset = $dataset)
),

series as (
    -- Each sensor's series by number; the readings below carry only the numbers, since sorting
    -- text along with them cost as much as the sorts themselves.
    select
        sensor_numbers.entity_id,
        metric_numbers.metric,
        sensor_numbers.sensor_no,
        sensor_numbers.sensor_no * metric_numbers.metric_count + metric_numbers.metric_no as series_no
    from sensor_numbers
    cross join metric_numbers
),

last_heard as (
    -- Each sensor's last reading up to now: before now's UTC day, where its last run ends on its
    -- last day in the rollup; on that day, from the readings up to now (readings after now have
    -- not arrived yet: a replay runs behind the stored data).
    select entity_id, max(last_seen) as last_seen
    from (
        select entity_id, max(last_run.end_ts) as last_seen
        from series_run_daily
        where dataset = $dataset
          and day < cast($now as date)
          and entity_id in (select entity_id from sensors)
        group by entity_id
        union all
        select entity_id, max(ts)
        from observations
        where dataset = $dataset
          and ts >= cast($now as date)
          and ts <= $now
          and entity_id in (select entity_id from sensors)
        group by entity_id
    )
    group by entity_id
),

part_day_readings as (
    -- The window's readings outside the days the rollups answer: before them, and after them.
    select
        series.sensor_no,
        series.series_no,
        window_readings.ts,
        window_readings.value
    from (
        select observations.entity_id, observations.metric, observations.ts, observations.value
        from observations
        where observations.dataset = $dataset
          and observations.ts >= $period_start
          and observations.ts < (select first_day from rollup_span)
          and observations.ts < $period_end
          and observations.ts <= $now
        union all
        select observations.entity_id, observations.metric, observations.ts, observations.value
        from observations
        where observations.dataset = $dataset
          and observations.ts >= (select end_day from rollup_span)
          and observations.ts < $period_end
          and observations.ts <= $now
    ) as window_readings
    join series using (entity_id, metric)
),

slot_pieces as (
    -- Filled slots, counted from the period start: a piece per whole day from the rollup, and one
    -- per slot filled in the part-days.
    select
        sensor_numbers.sensor_no,
        daily.first_slot - settings.first_slot_on_grid as first_slot,
        daily.last_slot - settings.first_slot_on_grid as last_slot,
        daily.filled,
        daily.gaps,
        daily.longest_gap
    from sensor_slot_daily as daily
    join sensor_numbers using (entity_id)
    cross join settings
    cross join rollup_span
    where daily.dataset = $dataset
      and daily.day >= rollup_span.first_day
      and daily.day < rollup_span.end_day
    union all
    select distinct sensor_no, slot, slot, 1, 0, 0
    from (
        select
            part_day_readings.sensor_no,
            date_diff('microsecond', $period_start, part_day_readings.ts) // settings.interval_us as slot,
            settings.slot_count
        from part_day_readings
        cross join settings
    )
    where slot < slot_count
),

slot_steps as (
    -- Empty slots before each piece, since the sensor's previous piece or the period start.
    select
        sensor_no,
        last_slot,
        filled,
        gaps,
        longest_gap,
        first_slot - case when lag(sensor_no) over pieces_in_order = sensor_no
                        then lag(last_slot) over pieces_in_order else -1 end - 1 as empty_before
    from slot_pieces
    window pieces_in_order as (order by sensor_no, first_slot)
),

slot_facts as (
    select
        sensor_no,
        sum(filled)::bigint as filled,
        (sum(gaps) + count(*) filter (where empty_before > 0))::bigint as gaps_before,
        greatest(max(longest_gap), max(empty_before)) as longest_before,
        max(last_slot) as last_slot
    from slot_steps
    group by sensor_no
),

gaps as (
    -- Adding the empty slots after the last filled one, up to now: every slot for a sensor with none.
    select
        sensors.entity_id,
        coalesce(slot_facts.filled, 0) as filled,
        settings.slot_count - 1 - coalesce(slot_facts.last_slot, -1) as empty_after,
        coalesce(slot_facts.gaps_before, 0) + (empty_after > 0)::bigint as gap_count,
        greatest(coalesce(slot_facts.longest_before, 0), empty_after, 0) as longest_gap_slots
    from sensors
    join sensor_numbers using (entity_id)
    cross join settings
    left join slot_facts using (sensor_no)
),

rollup_runs as (
    select series.sensor_no, series.series_no, series.metric, daily.readings, daily.first_run, daily.last_run,
           daily.inner_run, daily.inner_nonzero_run
    from series_run_daily as daily
    join series using (entity_id, metric)
    cross join rollup_span
    where daily.dataset = $dataset
      and daily.day >= rollup_span.first_day
      and daily.day < rollup_span.end_day
),

reading_counts as (
    select sensor_no, sum(readings)::bigint as readings
    from (
        select sensor_no, readings from rollup_runs
        union all
        select sensor_no, 1 from part_day_readings
    )
    group by sensor_no
),

run_pieces as (
    -- Pieces of each series in time order: a whole day's first run, and its last run when the day
    -- has more than one (part 1); each reading of the part-days on its own. Runs that go on from
    -- one piece to the next are joined below. A last run always starts a run of its own: the piece
    -- before it is the same day's first run, a different run.
    select series_no, first_run.value, first_run.readings, first_run.start_ts, first_run.end_ts, 0 as part
    from rollup_runs
    union all
    select series_no, last_run.value, last_run.readings, last_run.start_ts, last_run.end_ts, 1
    from rollup_runs
    where first_run.readings < readings
    union all
    select series_no, value, 1, ts, ts, 0
    from part_day_readings
),

piece_steps as (
    -- One ordering of all the series' pieces rather than a partition per series: thousands of small
    -- partitions cost more than the sort (about a fifth of the query over a month at 200M). Runs
    -- stay within their series because they are put together by series below.
    select
        *,
        part = 1 or value is distinct from lag(value) over pieces_in_order as starts_run,
        coalesce(lead(value) over pieces_in_order = value, false) as may_go_on
    from run_pieces
    window pieces_in_order as (order by series_no, start_ts, part)
),

joined_runs as (
    -- A piece that starts a run the next piece cannot go on with is the whole run; only the others,
    -- a fifth of them in the demo data, are numbered by the run they belong to and put together.
    select series_no, value, readings::bigint as readings, start_ts as first_ts, end_ts as last_ts
    from piece_steps
    where starts_run and not may_go_on
    union all
    select
        series_no,
        any_value(value) as value,
        sum(readings)::bigint as readings,
        min(start_ts) as first_ts,
        max(end_ts) as last_ts
    from (
        select
            *,
            sum(starts_run::integer) over (
                order by series_no, start_ts, part rows between unbounded preceding and current row
            ) as run_no
        from piece_steps
        where not starts_run or may_go_on
    )
    group by series_no, run_no
),

run_candidates as (
    -- Runs joined across pieces, and each whole day's longest run between its first and last.
    select series_no, value, readings, first_ts, last_ts
    from joined_runs
    union all
    select
        series_no,
        longest.value,
        longest.readings,
        longest.start_ts,
        longest.end_ts
    from (
        select
            series_no,
            case when list_contains($zero_ok, metric) then inner_nonzero_run else inner_run end as longest
        from rollup_runs
    )
    where longest is not null
),

stuck_spells as (
    select
        series.entity_id,
        series.metric,
        run_candidates.value,
        run_candidates.readings,
        run_candidates.first_ts,
        run_candidates.last_ts
    from run_candidates
    join series using (series_no)
    where run_candidates.readings > $stuck_after
      and not (run_candidates.value = 0 and list_contains($zero_ok, series.metric))
),

longest_stuck_spells as (
    select *
    from stuck_spells
    qualify row_number() over (partition by entity_id, metric order by readings desc, first_ts) = 1
),

stuck as (
    select
        entity_id,
        list({'metric': metric, 'value': value, 'readings': readings, 'first_ts': first_ts, 'last_ts': last_ts}
             order by metric) as stuck_runs
    from longest_stuck_spells
    group by entity_id
),

metric_ranges as (
    select
        split_part(entry, ':', 1) as metric,
        try_cast(split_part(entry, ':', 2) as double) as low,
        try_cast(split_part(entry, ':', 3) as double) as high
    from (select unnest($ranges) as entry)
),

flagged_series as (
    -- The series whose lowest or highest reading on a local day the window touches is outside
    -- their metric's range (entity_daily's low and peak): only they can have readings out of
    -- range, and they are few. A local day is within a day of its UTC one, hence the margins.
    select entity_daily.entity_id, entity_daily.metric, metric_ranges.low, metric_ranges.high
    from entity_daily
    join metric_ranges using (metric)
    where entity_daily.dataset = $dataset
      and entity_daily.day >= cast($period_start as date) - 1
      and entity_daily.day <= cast(least($period_end, $now) as date) + 1
      and (entity_daily.low < metric_ranges.low or entity_daily.peak > metric_ranges.high)
      and entity_daily.entity_id in (select entity_id from sensors)
    group by all
),

outside_per_metric as (
    -- Their readings outside the range in the window.
    select observations.entity_id, observations.metric, count(*) as readings
    from observations
    join flagged_series using (entity_id, metric)
    where observations.dataset = $dataset
      and observations.ts >= $period_start
      and observations.ts < $period_end
      and observations.ts <= $now
      and (observations.value < flagged_series.low or observations.value > flagged_series.high)
    group by observations.entity_id, observations.metric
),

outside as (
    select
        entity_id,
        sum(readings)::bigint as out_of_range,
        list({'metric': metric, 'readings': readings} order by metric) as out_of_range_by_metric
    from outside_per_metric
    group by entity_id
),

facts as (
    select
        sensors.*,
        last_heard.last_seen,
        coalesce(reading_counts.readings, 0) as readings,
        case when settings.slot_count > 0
             then 100.0 * gaps.filled / settings.slot_count
        end as uptime_pct,
        gaps.gap_count,
        gaps.longest_gap_slots,
        last_heard.last_seen is null
            or date_diff('microsecond', last_heard.last_seen, $now) > $stale_s::bigint * 1000000 as stale,
        last_heard.last_seen is null
            or date_diff('microsecond', last_heard.last_seen, $now) > $dead_s::bigint * 1000000 as silent_too_long,
        stuck.stuck_runs,
        coalesce(outside.out_of_range, 0) as out_of_range,
        outside.out_of_range_by_metric,
        settings.other_grid
    from sensors
    join sensor_numbers using (entity_id)
    cross join settings
    left join last_heard using (entity_id)
    left join reading_counts using (sensor_no)
    left join gaps using (entity_id)
    left join stuck using (entity_id)
    left join outside using (entity_id)
)

select
    entity_id,
    name,
    kind,
    borough_code,
    borough_name,
    lat,
    lon,
    last_seen,
    readings,
    uptime_pct,
    gap_count,
    longest_gap_slots,
    stale,
    stuck_runs,
    out_of_range,
    out_of_range_by_metric,
    case
        when other_grid then error('sensor_slot_daily was made for another reporting interval than ' || $interval_s || ' s')
        when readings = 0 or silent_too_long then 'dead'
        when stale or stuck_runs is not null or out_of_range > 0 or uptime_pct < $min_uptime_pct then 'attention'
        else 'ok'
    end as status
from facts
order by entity_id
