-- Every metric of every dataset for every borough over a period and over the period before it, one row per dataset, metric, borough and period.
-- Params: $start (date), $end (date), $previous_start (date), $previous_end (date)
-- Returns: dataset, metric, borough_code, period, mean_value, total, peak_sum, peak_max, entities, readings, days
--
-- Each way a metric can combine is returned, and the catalogue says which one it uses
-- (citydash.boroughs.value_column, the same rules as metric_by_borough): mean_value is the mean of
-- every reading, total their sum, peak_sum the sum over entities of each one's largest reading
-- (capacities), peak_max the largest reading. days counts the days with any reading, so that a
-- previous period the data only partly covers is not compared as if it were whole.
with periods as (
    select 'current' as period, $start as first_day, $end as last_day
    union all
    select 'previous' as period, $previous_start as first_day, $previous_end as last_day
),

per_entity as (
    select
        entity_daily.dataset,
        entity_daily.metric,
        entity_daily.borough_code,
        periods.period,
        entity_daily.entity_id,
        sum(entity_daily.n) as readings,
        sum(entity_daily.total) as total,
        max(entity_daily.peak) as peak
    from entity_daily
    join periods on entity_daily.day between periods.first_day and periods.last_day
    where entity_daily.borough_code is not null
    group by all
),

days_with_data as (
    select
        borough_daily.dataset,
        borough_daily.metric,
        borough_daily.borough_code,
        periods.period,
        count(distinct borough_daily.day) as days
    from borough_daily
    join periods on borough_daily.day between periods.first_day and periods.last_day
    group by all
),

per_borough as (
    select
        dataset,
        metric,
        borough_code,
        period,
        sum(total) / sum(readings) as mean_value,
        sum(total) as total,
        sum(peak) as peak_sum,
        max(peak) as peak_max,
        count(*) as entities,
        sum(readings) as readings
    from per_entity
    group by dataset, metric, borough_code, period
)

select
    per_borough.dataset,
    per_borough.metric,
    per_borough.borough_code,
    per_borough.period,
    per_borough.mean_value,
    per_borough.total,
    per_borough.peak_sum,
    per_borough.peak_max,
    per_borough.entities,
    per_borough.readings,
    coalesce(days_with_data.days, 0) as days
from per_borough
left join days_with_data using (dataset, metric, borough_code, period)
order by per_borough.dataset, per_borough.metric, per_borough.borough_code, per_borough.period
