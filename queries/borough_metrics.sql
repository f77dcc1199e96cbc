-- Every metric of every dataset for every borough over a period and over the period before it, one row per dataset, metric, borough and period.
-- Params: $start (date), $end (date), $previous_start (date), $previous_end (date), $summed_peaks (text[])
-- Returns: dataset, metric, borough_code, period, mean_value, total, peak_sum, peak_max, readings, days
--
-- Each way a metric can combine is returned, and the catalogue says which one it uses
-- (citydash.boroughs.value_column, the same rules as metric_by_borough): mean_value is the mean of
-- every reading, total their sum, peak_sum the sum over entities of each one's largest reading
-- (capacities), peak_max the largest reading. days counts the days with any reading, so that a
-- previous period the data only partly covers is not compared as if it were whole.
--
-- Everything but peak_sum comes from the per-borough rollup. peak_sum needs every entity's rows, so
-- it is worked out only for the '<dataset>.<metric>' keys in $summed_peaks (null for the others).
with periods as (
    select 'current' as period, $start as first_day, $end as last_day
    union all
    select 'previous' as period, $previous_start as first_day, $previous_end as last_day
),

per_borough as (
    select
        borough_daily.dataset,
        borough_daily.metric,
        borough_daily.borough_code,
        periods.period,
        sum(borough_daily.total) / sum(borough_daily.n) as mean_value,
        sum(borough_daily.total) as total,
        max(borough_daily.peak) as peak_max,
        sum(borough_daily.n) as readings,
        count(distinct borough_daily.day) as days
    from borough_daily
    join periods on borough_daily.day between periods.first_day and periods.last_day
    group by all
),

entity_peaks as (
    select
        entity_daily.dataset,
        entity_daily.metric,
        entity_daily.borough_code,
        periods.period,
        entity_daily.entity_id,
        max(entity_daily.peak) as peak
    from entity_daily
    join periods on entity_daily.day between periods.first_day and periods.last_day
    where list_contains($summed_peaks, entity_daily.dataset || '.' || entity_daily.metric)
      and entity_daily.borough_code is not null
    group by all
),

summed_peaks as (
    select dataset, metric, borough_code, period, sum(peak) as peak_sum
    from entity_peaks
    group by all
)

select
    per_borough.dataset,
    per_borough.metric,
    per_borough.borough_code,
    per_borough.period,
    per_borough.mean_value,
    per_borough.total,
    summed_peaks.peak_sum,
    per_borough.peak_max,
    per_borough.readings,
    per_borough.days
from per_borough
left join summed_peaks using (dataset, metric, borough_code, period)
order by per_borough.dataset, per_borough.metric, per_borough.borough_code, per_borough.period
