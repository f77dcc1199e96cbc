"""The one module that talks to DuckDB.

One in-memory DuckDB connection per process holds views over the pack's parquet extracts; every
query runs on its own cursor (Streamlit serves each session on its own thread, and a DuckDB
connection must not be shared across threads without cursors). SQL lives in queries/*.sql and is
run with bound $parameters only. The views a query can see depend on the session's access level:
each level has its own schema, and a cursor's search_path points at exactly one of them, so an
officer-only dataset does not exist for a public session.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from citydash.airquality import DEFAULT_MIN_COVERAGE, load_daqi
from citydash.catalog import ACCESS_LEVELS, Catalog, CatalogError, Dataset
from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS
from citydash.geo import load_areas
from citydash.sensors import (
    SENSOR_DOMAIN,
    Threshold,
    expected_interval,
    load_sensor_thresholds,
    metric_threshold_entries,
    thresholds_for,
    thresholds_key,
)

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"

# The tables every published dataset has, by view name -> file suffix (see catalog.extract_path).
TABLES = {
    "observations": "",
    "entities": "entities",
    "entity_daily": "entity_daily",
    "borough_daily": "borough_daily",
    "pollutant_daily": "pollutant_daily",
    "borough_hourly": "borough_hourly",
    "sensor_slot_daily": "sensor_slot_daily",
    "series_run_daily": "series_run_daily",
    "sensor_hourly": "sensor_hourly",
    "sensor_threshold_daily": "sensor_threshold_daily",
    "entity_monthly": "entity_monthly",
    "entity_weekly": "entity_weekly",
}

ENTITY_DAILY_COLUMNS = ["entity_id", "borough_code", "day", "metric", "n", "total", "peak", "low"]
BOROUGH_DAILY_COLUMNS = ["borough_code", "day", "metric", "n", "total", "peak", "low", "entities"]
POLLUTANT_DAILY_COLUMNS = ["entity_id", "day", "metric", "hours", "min_coverage", "tz", "concentration"]
BOROUGH_HOURLY_COLUMNS = ["borough_code", "day", "hour", "metric", "n", "total"]
SENSOR_SLOT_DAILY_COLUMNS = ["entity_id", "day", "interval_s", "filled", "first_slot", "last_slot", "gaps",
                             "longest_gap"]
SERIES_RUN_DAILY_COLUMNS = ["entity_id", "metric", "day", "readings", "first_run", "last_run", "inner_run",
                            "inner_nonzero_run"]
SENSOR_HOURLY_COLUMNS = ["entity_id", "metric", "day", "hour", "n", "total"]
SENSOR_THRESHOLD_DAILY_COLUMNS = ["entity_id", "metric", "day", "level", "thresholds", "in_hours", "above"]
ENTITY_MONTHLY_COLUMNS = ["entity_id", "borough_code", "month", "day_type", "metric", "n", "total", "peak", "low",
                          "days"]
ENTITY_WEEKLY_COLUMNS = ["entity_id", "borough_code", "week", "metric", "n", "total", "days", "day_bits"]
# A run of one value in a series (series_run_daily).
RUN_TYPE = "STRUCT(value DOUBLE, readings BIGINT, start_ts TIMESTAMP, end_ts TIMESTAMP)"
REQUIRED_COLUMNS = {
    "observations": list(OBSERVATION_COLUMNS),
    "entities": list(ENTITY_COLUMNS),
    "entity_daily": ENTITY_DAILY_COLUMNS,
    "borough_daily": BOROUGH_DAILY_COLUMNS,
    "pollutant_daily": POLLUTANT_DAILY_COLUMNS,
    "borough_hourly": BOROUGH_HOURLY_COLUMNS,
    "sensor_slot_daily": SENSOR_SLOT_DAILY_COLUMNS,
    "series_run_daily": SERIES_RUN_DAILY_COLUMNS,
    "sensor_hourly": SENSOR_HOURLY_COLUMNS,
    "sensor_threshold_daily": SENSOR_THRESHOLD_DAILY_COLUMNS,
    "entity_monthly": ENTITY_MONTHLY_COLUMNS,
    "entity_weekly": ENTITY_WEEKLY_COLUMNS,
}
# Rollups added after datasets were already published: a dataset without one (or with one made by
# another method) is still whole, and the rollup is worked out from its observations at start.
WORKED_OUT_AT_START = {"pollutant_daily", "borough_hourly", "sensor_slot_daily", "series_run_daily", "sensor_hourly",
                       "sensor_threshold_daily", "entity_monthly", "entity_weekly"}
ROLLUPS_DIR = QUERIES_DIR / "rollups"
# Written for street-sensor datasets only (empty for the others). Their no-rollup view (the bench's
# `derive_rollups`) is their own SQL file over the raw readings.
SENSOR_ROLLUPS = ("sensor_slot_daily", "series_run_daily", "sensor_hourly", "sensor_threshold_daily")
# Written from entity_daily rather than from the observations.
ENTITY_DAILY_ROLLUPS = ("entity_monthly", "entity_weekly")
LOG = logging.getLogger("citydash.data")


def pollutant_daily_params(catalog: Catalog, dataset_id: str) -> dict:
    """The method of a dataset's pollutant_daily rollup: the pack's DAQI averaging periods when the
    dataset has DAQI-banded metrics (none otherwise: the rollup is then empty), the default share
    of each period that must be measured, and the city's time zone for its calendar days."""
    daqi_metrics = [metric for metric in catalog.datasets[dataset_id].metrics if metric.bands == "daqi"]
    averaging: list[str] = []
    if daqi_metrics:
        try:
            daqi = load_daqi(catalog.pack_dir / "catalog.toml")
        except (OSError, ValueError) as error:
            LOG.warning("%s: no DAQI rollup (%s)", dataset_id, error)
        else:
            averaging = [f"{pollutant}={hours}" for pollutant, hours in daqi.averaging_hours.items()]
    return {"tz": catalog.city.timezone, "averaging": averaging, "min_coverage": float(DEFAULT_MIN_COVERAGE)}


def sensor_rollup_params(catalog: Catalog, dataset_id: str) -> dict:
    """The sensor rollups are written for street-sensor datasets only (empty for the others); the
    slots of sensor_slot_daily are on the grid of the dataset's expected interval."""
    dataset = catalog.datasets[dataset_id]
    return {"interval_s": int(expected_interval(dataset).total_seconds()),
            "sensor_data": dataset.domain == SENSOR_DOMAIN}


def sensor_thresholds_by_metric(catalog: Catalog, dataset_id: str) -> dict[str, tuple[Threshold, ...]]:
    """The thresholds sensor_threshold_daily counts with, for each metric that has some, as the
    Street sensors page takes them (the timed ones in the pack, else the catalogue's); none when the
    pack's are malformed (the page then says so)."""
    try:
        rules = load_sensor_thresholds(catalog.pack_dir)
    except CatalogError as error:
        LOG.warning("%s: no threshold rollup (%s)", dataset_id, error)
        return {}
    by_metric = {metric.id: thresholds_for(metric, rules) for metric in catalog.datasets[dataset_id].metrics}
    return {metric_id: thresholds for metric_id, thresholds in by_metric.items() if thresholds}


def rollup_params(catalog: Catalog, dataset_id: str, table: str, observations: str, entities: str,
                  entity_daily: str) -> dict:
    """The parameters of queries/rollups/<table>.sql for a dataset whose tables are at these locations."""
    if table in ENTITY_DAILY_ROLLUPS:
        return {"entity_daily": entity_daily}
    if table == "pollutant_daily":
        return {"observations": observations, **pollutant_daily_params(catalog, dataset_id)}
    if table == "borough_hourly":
        return {"observations": observations, "entities": entities, "tz": catalog.city.timezone}
    if table == "sensor_slot_daily":
        return {"observations": observations, **sensor_rollup_params(catalog, dataset_id)}
    if table == "series_run_daily":
        return {"observations": observations, "sensor_data": sensor_rollup_params(catalog, dataset_id)["sensor_data"]}
    if table == "sensor_hourly":
        return {"observations": observations, "tz": catalog.city.timezone,
                "sensor_data": sensor_rollup_params(catalog, dataset_id)["sensor_data"]}
    if table == "sensor_threshold_daily":
        return {"observations": observations, "tz": catalog.city.timezone,
                "thresholds": metric_threshold_entries(sensor_thresholds_by_metric(catalog, dataset_id)),
                "sensor_data": sensor_rollup_params(catalog, dataset_id)["sensor_data"]}
    raise ValueError(f"no rollup {table!r} is worked out from the observations and entity_daily")


class QueryError(RuntimeError):
    """A query could not run; the message is safe to show to a user."""


class QueryTimeout(QueryError):
    pass


# Path() folds the '//' of a URL into '/', so a remote extracts location arrives as 'https:/host/...'.
REMOTE_LOCATION = re.compile(r"^(https?|s3|s3a|gcs|gs|r2|az|abfss|hf):/+", re.IGNORECASE)


def remote_url(location: Path | str) -> str | None:
    """The URL a remote extracts location stands for, or None for a local folder."""
    text = str(location)
    match = REMOTE_LOCATION.match(text)
    if match is None:
        return None
    return f"{match.group(1).lower()}://{text[match.end():]}"


@dataclass(frozen=True)
class ExtractsProblem:
    """The extracts location as a whole cannot be read (not one dataset's file)."""

    location: str
    message: str

    def explain(self) -> str:
        return self.message


def httpfs_missing_message(url: str, error: str) -> str:
    return (f"Reading extracts from {url} needs DuckDB's httpfs extension, which is not installed here "
            f"({error}). Install it once on a machine with internet access: run `INSTALL httpfs;` in DuckDB "
            "(python -c \"import duckdb; duckdb.sql('INSTALL httpfs')\"), or copy the extracts to a local "
            "folder and point CITYDASH_EXTRACTS at it.")


@dataclass(frozen=True)
class DatasetProblem:
    dataset: str
    path: Path
    message: str

    def explain(self) -> str:
        return (f"{self.dataset}: {self.path.name} {self.message}. Rebuild the demo data with "
                "`python -m citydash demo --force`, or re-run the ingest that produced it.")


@dataclass(frozen=True)
class QueryContract:
    name: str
    purpose: str
    params: dict[str, str]
    returns: list[str]
    sql: str


HEADER_PARAMS = re.compile(r"^--\s*Params:\s*(.*)$", re.MULTILINE)
HEADER_RETURNS = re.compile(r"^--\s*Returns:\s*(.*)$", re.MULTILINE)
PARAM = re.compile(r"\$([a-z_]+)\s*\(([^)]+)\)")


@lru_cache(maxsize=128)
def load_query(name: str, queries_dir: Path = QUERIES_DIR) -> QueryContract:
    """Read queries/<name>.sql and its header contract."""
    if not re.fullmatch(r"[a-z][a-z0-9_/]*", name):
        raise QueryError(f"unknown query {name!r}")
    path = queries_dir / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"unknown query {name!r}")
    sql = path.read_text(encoding="utf-8")
    first_line = sql.splitlines()[0] if sql else ""
    params_match = HEADER_PARAMS.search(sql)
    returns_match = HEADER_RETURNS.search(sql)
    if not first_line.startswith("--") or params_match is None or returns_match is None:
        raise QueryError(f"{path}: header must give purpose, '-- Params:' and '-- Returns:' lines")
    params = dict(PARAM.findall(params_match.group(1)))
    returns = [column.strip() for column in returns_match.group(1).split(",") if column.strip()]
    return QueryContract(name=name, purpose=first_line.lstrip("- ").strip(), params=params,
                         returns=returns, sql=sql)


def _connect(memory_limit: str = "2GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit, "threads": threads})
    # No progress bar: long merges would print it into the CLI's and the server's output.
    con.execute("set enable_progress_bar = false")
    # Beyond the memory limit DuckDB spills; an in-memory database would spill into ./.tmp.
    con.execute("set temp_directory = $folder", {"folder": str(Path(tempfile.gettempdir()) / "citydash-duckdb")})
    # Timestamps are UTC throughout; the session zone must not shift them.
    con.execute("set TimeZone = 'UTC'")
    return con


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _inline_params(sql: str, params: dict) -> str:
    """A rollup's SQL with its $parameters written in as literals, for a view (which cannot take
    parameters). Only for the bench's views over raw readings: the values are the catalogue's and
    the pack's paths."""
    def literal(match: re.Match) -> str:
        value = params[match.group(1)]
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(_quote_literal(str(item)) for item in value) + "]::varchar[]"
        return _quote_literal(str(value))
    return re.sub(r"\$(\w+)", literal, sql)


def _dataset_rows(dataset_id: str, table: str) -> str:
    """SQL for one dataset's rows of a contract table, with its `dataset` column: a branch of the
    access levels' union views, and the whole of the dataset's own view."""
    return f"select '{dataset_id}' as dataset, {', '.join(REQUIRED_COLUMNS[table])} from datasets.{dataset_id}__{table}"


def _schema_for(access: str) -> str:
    if access not in ACCESS_LEVELS:
        raise QueryError(f"unknown access level {access!r}")
    return f"access_{access}"


class Database:
    """Views over a city pack's extracts, and bound-parameter queries against them."""

    def __init__(self, catalog: Catalog, memory_limit: str = "2GB", threads: int = 2,
                 timeout_s: float = 10.0, queries_dir: Path | None = None, derive_rollups: bool = False,
                 narrow_to_dataset: bool = True):
        """derive_rollups=True computes entity_daily, borough_daily and borough_hourly from the raw
        observations on every query instead of reading the rollup files (for measuring what the
        rollups save); pollutant_daily is then worked out once, at start.

        narrow_to_dataset=True runs a query that asks for one `$dataset` over tables holding only
        that dataset's rows (see cursor); False, over every dataset's (the tests compare the two)."""
        self.catalog = catalog
        self.narrow_to_dataset = narrow_to_dataset
        self.timeout_s = timeout_s
        self.queries_dir = queries_dir or QUERIES_DIR
        self.derive_rollups = derive_rollups
        self.remote = remote_url(catalog.extracts_dir)
        self._con = _connect(memory_limit=memory_limit, threads=threads)
        self.problems: list[DatasetProblem | ExtractsProblem] = []
        self.available: set[str] = set()
        self.unpublished: set[str] = set()
        self._visible: dict[str, set[str]] = {}
        # Schemas whose tables hold one dataset's rows, made when first asked for (see cursor).
        self._dataset_schemas: set[str] = set()
        self._dataset_schemas_lock = threading.Lock()
        self._register()

    def _location(self, dataset_id: str, suffix: str = "") -> str:
        """Where a dataset's table is read from: a local path, or a URL under a remote location."""
        path = self.catalog.extract_path(dataset_id, suffix)
        return f"{self.remote.rstrip('/')}/{path.name}" if self.remote else str(path)

    def _remote_ready(self) -> bool:
        """httpfs loaded for a remote location; never installed from here (no network at run time)."""
        try:
            self._con.execute("load httpfs")
            return True
        except duckdb.Error as error:
            self.problems.append(ExtractsProblem(self.remote, httpfs_missing_message(
                self.remote, str(error).splitlines()[0])))
            return False

    def _is_published(self, dataset: Dataset) -> bool:
        """Any trace of a publish: a dataset with none is simply not ingested yet, not broken."""
        if self.remote:
            manifest = f"{self.remote.rstrip('/')}/{self.catalog.manifest_path(dataset.id).name}"
            try:
                self._con.execute("select size from read_blob($url)", {"url": manifest}).fetchall()
                return True
            except duckdb.Error:
                return False
        return self.catalog.manifest_path(dataset.id).exists() or any(
            self.catalog.extract_path(dataset.id, suffix).exists() for suffix in TABLES.values())

    def _check_dataset(self, dataset: Dataset, absent_rollups: set[str]) -> DatasetProblem | None:
        for table, suffix in TABLES.items():
            path = self.catalog.extract_path(dataset.id, suffix)
            if table in absent_rollups:
                continue
            if not self.remote and not path.is_file():
                return DatasetProblem(dataset.id, path, "is missing")
            try:
                names = {row[0] for row in self._con.execute(
                    "select name from parquet_schema($path)", {"path": self._location(dataset.id, suffix)}).fetchall()}
            except duckdb.Error as error:
                first_line = str(error).splitlines()[0]
                return DatasetProblem(dataset.id, path, f"cannot be read as parquet ({first_line})")
            missing = [column for column in REQUIRED_COLUMNS[table] if column not in names]
            if missing:
                return DatasetProblem(dataset.id, path, f"lacks columns {missing}")
        return None

    def _register(self) -> None:
        # DDL cannot take bound parameters: identifiers come from the validated catalogue
        # (citydash.catalog.IDENTIFIER) and paths from the pack folder, quoted as literals.
        self._con.execute("create schema if not exists datasets")
        reachable = not self.remote or self._remote_ready()
        for dataset in self.catalog.datasets.values():
            if not reachable:
                self.unpublished.add(dataset.id)
                continue
            if not self._is_published(dataset):
                self.unpublished.add(dataset.id)
                continue
            # Published before these rollups existed: still whole, they are worked out below.
            absent = {table for table in WORKED_OUT_AT_START if not self._has_file(dataset.id, TABLES[table])}
            problem = self._check_dataset(dataset, absent)
            if problem:
                self.problems.append(problem)
                continue
            for table, suffix in TABLES.items():
                if table in WORKED_OUT_AT_START and (table in absent or not self._rollup_is_current(dataset.id, table)):
                    self._work_out_rollup(dataset.id, table)
                    continue
                path = _quote_literal(self._location(dataset.id, suffix))
                self._con.execute(f"create or replace view datasets.{dataset.id}__{table} as "
                                  f"select * from read_parquet({path})")
            if self.derive_rollups:
                self._derive_rollup_views(dataset.id)
            self.available.add(dataset.id)
        areas = load_areas(self.catalog.city.boundaries).drop(columns="geometry").rename(columns={
            "code": "borough_code", "name": "borough_name", "group": "borough_group"})
        self._con.register("areas_frame", pd.DataFrame(areas))
        self._con.execute("create or replace table main.boroughs as select * from areas_frame")
        self._con.unregister("areas_frame")
        for access in ACCESS_LEVELS:
            schema = _schema_for(access)
            self._con.execute(f"create schema if not exists {schema}")
            visible = [dataset for dataset in self.catalog.visible(access) if dataset.id in self.available]
            for table in TABLES:
                parts = [_dataset_rows(dataset.id, table) for dataset in visible]
                if not parts:
                    parts = [f"select null::varchar as dataset, {self._typed_nulls(table)} where false"]
                self._con.execute(f"create or replace view {schema}.{table} as " + " union all ".join(parts))
            self._visible[access] = {dataset.id for dataset in visible}
            ids = ", ".join(f"('{dataset.id}')" for dataset in visible) or "(null)"
            self._con.execute(f"create or replace view {schema}.visible_datasets as "
                              f"select dataset from (values {ids}) as listed(dataset) where dataset is not null")

    def _has_file(self, dataset_id: str, suffix: str) -> bool:
        if not self.remote:
            return self.catalog.extract_path(dataset_id, suffix).is_file()
        try:
            self._con.execute("select size from read_blob($url)", {"url": self._location(dataset_id, suffix)}).fetchall()
            return True
        except duckdb.Error:
            return False

    def _rollup_is_current(self, dataset_id: str, table: str) -> bool:
        """A rollup file that is there (its columns were checked with the dataset's) is current,
        except a pollutant_daily made by another method than the one the pack asks for now, a
        sensor_slot_daily made on the grid of another reporting interval, and a
        sensor_threshold_daily counted with other thresholds."""
        if self.derive_rollups:
            # These are then views over the raw observations (_derive_rollup_views).
            return table in ("borough_hourly", *ENTITY_DAILY_ROLLUPS) or table in SENSOR_ROLLUPS
        if table == "sensor_slot_daily":
            expected = sensor_rollup_params(self.catalog, dataset_id)["interval_s"]
            made_with = self._con.execute("select distinct interval_s from read_parquet($path)",
                                          {"path": self._location(dataset_id, TABLES[table])}).fetchall()
            return all(interval == expected for (interval,) in made_with)
        if table == "sensor_threshold_daily":
            return self._threshold_rollup_is_current(dataset_id)
        if table != "pollutant_daily":
            return True
        method = pollutant_daily_params(self.catalog, dataset_id)
        hours = dict(item.split("=", 1) for item in method["averaging"])
        made_with = self._con.execute(
            "select distinct metric, hours, min_coverage, tz from read_parquet($path)",
            {"path": self._location(dataset_id, TABLES[table])}).fetchall()
        return all(hours.get(metric) == str(made_hours) and coverage == method["min_coverage"] and zone == method["tz"]
                   for metric, made_hours, coverage, zone in made_with)

    def _threshold_rollup_is_current(self, dataset_id: str) -> bool:
        """Counted with the thresholds the pack sets now, for each metric with readings."""
        if not sensor_rollup_params(self.catalog, dataset_id)["sensor_data"]:
            return True
        measured = {metric for (metric,) in self._con.execute(
            "select distinct metric from read_parquet($path)",
            {"path": self._location(dataset_id, TABLES["entity_daily"])}).fetchall()}
        made_with = set(self._con.execute(
            "select distinct metric, thresholds from read_parquet($path)",
            {"path": self._location(dataset_id, TABLES["sensor_threshold_daily"])}).fetchall())
        return made_with == {(metric, thresholds_key(thresholds))
                             for metric, thresholds in sensor_thresholds_by_metric(self.catalog, dataset_id).items()
                             if metric in measured}

    def _work_out_rollup(self, dataset_id: str, table: str) -> None:
        """A rollup the dataset was published without, or made by another method: worked out now
        from its observations (the ENTITY_DAILY_ROLLUPS from its entity_daily) and kept in memory,
        so the pages still answer (more slowly to start; publishing the dataset again writes it)."""
        empty_by_design = (table in SENSOR_ROLLUPS
                           and not sensor_rollup_params(self.catalog, dataset_id)["sensor_data"])
        if not self.derive_rollups and not empty_by_design:
            LOG.warning("%s: its %s rollup is missing or was made by another method; working it out from its "
                        "published data (publish the dataset again to keep it)", dataset_id, table)
        self._con.execute(f"create or replace table datasets.{dataset_id}__{table} as "
                          + (ROLLUPS_DIR / f"{table}.sql").read_text(encoding="utf-8"),
                          rollup_params(self.catalog, dataset_id, table, self._location(dataset_id),
                                        self._location(dataset_id, TABLES["entities"]),
                                        self._location(dataset_id, TABLES["entity_daily"])))

    def _derive_rollup_views(self, dataset_id: str) -> None:
        """Replace the rollup views of a dataset by the rollup computed from its raw observations."""
        zone = _quote_literal(self.catalog.city.timezone)
        self._con.execute(
            f"create or replace view datasets.{dataset_id}__entity_daily as "
            f"select readings.entity_id, entities.borough_code, "
            f"cast(timezone({zone}, timezone('UTC', readings.ts)) as date) as day, readings.metric, "
            f"count(*) as n, sum(readings.value) as total, max(readings.value) as peak, min(readings.value) as low "
            f"from datasets.{dataset_id}__observations as readings "
            f"left join datasets.{dataset_id}__entities as entities using (entity_id) group by all")
        self._con.execute(
            f"create or replace view datasets.{dataset_id}__borough_daily as "
            f"select borough_code, day, metric, sum(n) as n, sum(total) as total, max(peak) as peak, "
            f"min(low) as low, count(distinct entity_id) as entities "
            f"from datasets.{dataset_id}__entity_daily where borough_code is not null group by all")
        self._con.execute(
            f"create or replace view datasets.{dataset_id}__borough_hourly as "
            f"select entities.borough_code, cast(timezone({zone}, timezone('UTC', readings.ts)) as date) as day, "
            f"hour(timezone({zone}, timezone('UTC', readings.ts))) as hour, readings.metric, "
            f"count(*) as n, sum(readings.value) as total "
            f"from datasets.{dataset_id}__observations as readings "
            f"left join datasets.{dataset_id}__entities as entities using (entity_id) group by all")
        # entity_monthly and entity_weekly over the entity_daily worked out above, as publish writes
        # them from entity_daily.
        for table in ENTITY_DAILY_ROLLUPS:
            sql = (ROLLUPS_DIR / f"{table}.sql").read_text(encoding="utf-8")
            self._con.execute(f"create or replace view datasets.{dataset_id}__{table} as "
                              + sql.replace("read_parquet($entity_daily)", f"datasets.{dataset_id}__entity_daily"))
        # The sensor rollups, as their publish step writes them, worked out on every query.
        for table in SENSOR_ROLLUPS:
            params = rollup_params(self.catalog, dataset_id, table, self._location(dataset_id),
                                   self._location(dataset_id, TABLES["entities"]),
                                   self._location(dataset_id, TABLES["entity_daily"]))
            self._con.execute(f"create or replace view datasets.{dataset_id}__{table} as "
                              + _inline_params((ROLLUPS_DIR / f"{table}.sql").read_text(encoding="utf-8"), params))

    @staticmethod
    def _typed_nulls(table: str) -> str:
        types = {**OBSERVATION_COLUMNS, **ENTITY_COLUMNS, "borough_code": "VARCHAR", "day": "DATE",
                 "n": "BIGINT", "total": "DOUBLE", "peak": "DOUBLE", "low": "DOUBLE", "entities": "BIGINT",
                 "hours": "INTEGER", "min_coverage": "DOUBLE", "tz": "VARCHAR", "concentration": "DOUBLE",
                 "hour": "BIGINT", "interval_s": "INTEGER", "filled": "BIGINT", "first_slot": "BIGINT",
                 "last_slot": "BIGINT", "gaps": "BIGINT", "longest_gap": "BIGINT", "readings": "BIGINT",
                 "first_run": RUN_TYPE, "last_run": RUN_TYPE, "inner_run": RUN_TYPE, "inner_nonzero_run": RUN_TYPE,
                 "level": "INTEGER", "thresholds": "VARCHAR", "in_hours": "BIGINT", "above": "BIGINT",
                 "month": "DATE", "day_type": "VARCHAR", "days": "BIGINT", "week": "DATE", "day_bits": "BIGINT"}
        return ", ".join(f"null::{types[column]} as {column}" for column in REQUIRED_COLUMNS[table])

    def cursor(self, access: str = "public", dataset: object = None) -> duckdb.DuckDBPyConnection:
        """A cursor over the tables of an access level. Given a dataset that level may see, its
        tables hold only that dataset's rows: each table is otherwise a union of every dataset's
        files, and binding those unions (a file's schema each) and planning them were a third of a
        small query's time. Any other dataset, or one it may not see, gets the whole level's.
        Views bind their files when made, so each dataset's are made when first asked for: made
        for every dataset and level at start, they added a sixth of a second to it."""
        schema = _schema_for(access)
        visible = isinstance(dataset, str) and dataset in self._visible.get(access, ())
        narrow = self._dataset_schema(dataset) if visible else None
        cursor = self._con.cursor()
        cursor.execute(f"set search_path = '{narrow + ',' if narrow else ''}{schema},main'")
        return cursor

    def _dataset_schema(self, dataset_id: str) -> str:
        """The schema whose tables hold only this dataset's rows (the same for every access level:
        cursor checks that the level may see the dataset)."""
        name = f"dataset_{dataset_id}"
        with self._dataset_schemas_lock:
            if name not in self._dataset_schemas:
                self._con.execute(f"create schema if not exists {name}")
                for table in TABLES:
                    self._con.execute(f"create or replace view {name}.{table} as " + _dataset_rows(dataset_id, table))
                self._dataset_schemas.add(name)
        return name

    def _query_cursor(self, contract: QueryContract, access: str, params: dict) -> duckdb.DuckDBPyConnection:
        """A query asking for one $dataset reads only that dataset's rows, as its filters would."""
        asked = params.get("dataset") if self.narrow_to_dataset and "dataset" in contract.params else None
        return self.cursor(access, asked)

    def run(self, query: str, access: str = "public", **params) -> pd.DataFrame:
        """Run queries/<query>.sql with bound parameters; the frame has the header's columns."""
        contract = load_query(query, self.queries_dir)
        unexpected = set(params) - set(contract.params)
        missing = set(contract.params) - set(params)
        if unexpected or missing:
            raise QueryError(f"query {query!r} takes {sorted(contract.params)}; "
                             f"missing {sorted(missing)}, unexpected {sorted(unexpected)}")
        cursor = self._query_cursor(contract, access, params)
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        timer.start()
        try:
            return cursor.execute(contract.sql, params).df()
        except duckdb.InterruptException as error:
            raise QueryTimeout(f"The query {query!r} took longer than {self.timeout_s:g} s and was "
                               "stopped. Try a shorter date range or fewer boroughs.") from error
        finally:
            timer.cancel()
            cursor.close()

    def loaded_extensions(self) -> set[str]:
        return {row[0] for row in self._con.execute(
            "select extension_name from duckdb_extensions() where loaded").fetchall()}

    def run_direct(self, query: str, access: str = "public", **params) -> int:
        """The same query straight on DuckDB into Arrow: no time limit, no DataFrame (for the bench)."""
        contract = load_query(query, self.queries_dir)
        cursor = self._query_cursor(contract, access, params)
        try:
            return cursor.sql(contract.sql, params=params).to_arrow_table().num_rows
        finally:
            cursor.close()

    def run_sql_file(self, path: Path, **params) -> duckdb.DuckDBPyRelation:
        """A relation for a model SQL file (rollups), for writing to parquet."""
        return self._con.sql(path.read_text(encoding="utf-8"), params=params)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def write_rollups(catalog: Catalog, dataset_id: str, staging: dict[str, Path]) -> None:
    """Derive the rollups of a dataset from its staged observations and entities.

    `staging` maps table name -> the temporary path to write (publish renames them into place).
    """
    con = _connect()
    try:
        rollups = QUERIES_DIR / "rollups"
        params = {"observations": str(staging["observations"]), "entities": str(staging["entities"]),
                  "tz": catalog.city.timezone}
        con.sql((rollups / "entity_daily.sql").read_text(), params=params).write_parquet(
            str(staging["entity_daily"]), compression="zstd")
        con.sql((rollups / "borough_daily.sql").read_text(),
                params={"entity_daily": str(staging["entity_daily"])}).write_parquet(
            str(staging["borough_daily"]), compression="zstd")
        for table in sorted(WORKED_OUT_AT_START):
            params = rollup_params(catalog, dataset_id, table, str(staging["observations"]), str(staging["entities"]),
                                   str(staging["entity_daily"]))
            con.sql((rollups / f"{table}.sql").read_text(), params=params).write_parquet(
                str(staging[table]), compression="zstd")
    finally:
        con.close()


def write_table(frame: pd.DataFrame, path: Path, columns: dict[str, str], order_by: list[str]) -> None:
    """Write a contract table to parquet with the contract's column types, sorted."""
    con = _connect()
    try:
        casts = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in columns.items())
        con.from_df(frame).project(casts).order(", ".join(order_by)).write_parquet(
            str(path), compression="zstd")
    finally:
        con.close()


def read_table(path: Path) -> pd.DataFrame:
    con = _connect()
    try:
        return con.execute("select * from read_parquet($path)", {"path": str(path)}).df()
    finally:
        con.close()


def summarise_extract(observations: Path, entities: Path) -> dict:
    """Row counts, time coverage and areas of a staged extract, for its manifest."""
    con = _connect()
    try:
        count, start, end = con.execute(
            "select count(*), min(ts), max(ts) from read_parquet($path)", {"path": str(observations)}).fetchall()[0]
        n_entities, areas = con.execute(
            "select count(*), list(distinct borough_code order by borough_code) filter (borough_code is not null) "
            "from read_parquet($path)", {"path": str(entities)}).fetchall()[0]
        return {"observations": count, "start": start, "end": end, "entities": n_entities, "areas": areas or []}
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# Publishing large extracts in parts (see citydash.ingest.publish.publish_parts): each part is
# validated and written by DuckDB, then the parts are merged and sorted out of core.

PART_CHECK_SQL = """
with input as (
    select
        cast(entity_id as varchar) as entity_id,
        try_cast(ts as timestamp) as ts,
        cast(metric as varchar) as metric,
        try_cast(value as double) as value,
        record
    from part_input
)

select
    input.entity_id,
    input.ts,
    input.metric,
    input.value,
    case
        when part_entities.entity_id is null then 'unknown or rejected entity'
        when part_ranges.metric is null
            then 'metric not in the catalogue for dataset ' || $dataset || ': ' || coalesce(input.metric, '')
        when input.ts is null then 'missing or unreadable timestamp'
        when input.value is null then 'missing or non-numeric value'
        when part_ranges.low is not null and (input.value < part_ranges.low or input.value > part_ranges.high)
            then part_ranges.label || cast(input.value as varchar)
        when $has_duplicates
         and row_number() over (partition by input.entity_id, input.ts, input.metric order by input.record) > 1
            then 'duplicate reading for the same entity, time and metric'
    end as reason
from input
left join part_entities on part_entities.entity_id = input.entity_id
left join part_ranges on part_ranges.metric = input.metric
"""


def check_observation_part(frame: pd.DataFrame, dataset_id: str, entity_ids: Iterable[str],
                           ranges: pd.DataFrame, valid_path: Path, rejects_path: Path,
                           memory_limit: str = "2GB") -> tuple[int, int]:
    """Validate one part of a dataset's observations in DuckDB, as publish.check_observations does
    in pandas: the valid rows go to valid_path, the rejects with reasons to rejects_path.

    ranges has metric, low, high (null for no range) and label (the reason's text before the value).
    Returns (valid rows, rejected rows)."""
    con = _connect(memory_limit=memory_limit)
    try:
        con.register("part_frame", frame)
        con.register("part_entities", pd.DataFrame({"entity_id": pd.Series(list(entity_ids), dtype="object")}))
        con.register("part_ranges", ranges)
        # The duplicate check is a window over the whole part: only pay for it when there are any.
        distinct, total = con.execute("select count(distinct (entity_id, ts, metric)), count(*) "
                                      "from part_frame").fetchall()[0]
        input_sql = ("select *, row_number() over () as record from part_frame" if distinct < total
                     else "select *, 0 as record from part_frame")
        con.execute("create temp view part_input as " + input_sql)
        con.execute("create temp table checked as " + PART_CHECK_SQL,
                    {"dataset": dataset_id, "has_duplicates": distinct < total})
        con.sql("select entity_id, ts, metric, value from checked where reason is null").write_parquet(
            str(valid_path), compression="zstd")
        con.sql("select 'observations' as source, coalesce(entity_id, '') as record, reason, "
                "left(concat_ws(',', entity_id, ts, metric, value), 500) as raw "
                "from checked where reason is not null").write_parquet(str(rejects_path), compression="zstd")
        valid, rejected = con.execute("select count(*) filter (where reason is null), "
                                      "count(*) filter (where reason is not null) from checked").fetchall()[0]
        return int(valid), int(rejected)
    finally:
        con.close()


def merge_parts(parts: list[Path], out_path: Path, order_by: list[str], temp_dir: Path,
                memory_limit: str = "3GB") -> int:
    """Merge parquet parts into one file sorted by order_by, spilling to temp_dir beyond the
    memory limit (a 200M-row extract never has to fit in memory). Returns the row count."""
    con = _connect(memory_limit=memory_limit)
    try:
        con.execute("set temp_directory = $dir", {"dir": str(temp_dir)})
        # Sorting needs no insertion order of its input; keeping it would cost memory.
        con.execute("set preserve_insertion_order = false")
        con.sql("select * from read_parquet($parts) order by " + ", ".join(order_by),
                params={"parts": [str(part) for part in parts]}).write_parquet(
            str(out_path), compression="zstd")
        return int(con.execute("select count(*) from read_parquet($path)", {"path": str(out_path)}).fetchall()[0][0])
    finally:
        con.close()


def write_rejects_csv(parts: list[Path], extra: pd.DataFrame, out_path: Path) -> int:
    """Every rejected row of the parts plus `extra` (entity rejects) as one quarantine CSV."""
    con = _connect()
    try:
        con.register("extra_rejects", extra.astype("object"))
        paths = [str(part) for part in parts]
        count = con.execute("select (select count(*) from extra_rejects) + "
                            "(select count(*) from read_parquet($parts))", {"parts": paths}).fetchall()[0][0]
        if count:
            con.sql("select source, record, reason, raw from extra_rejects union all "
                    "select source, record, reason, raw from read_parquet($parts)",
                    params={"parts": paths}).write_csv(str(out_path))
        return int(count)
    finally:
        con.close()


def reject_counts(parts: list[Path]) -> dict[str, int]:
    """Rejected rows of the parts by reason (the part before any ':'), for the publish report."""
    con = _connect()
    try:
        rows = con.execute("select split_part(reason, ':', 1), count(*) from read_parquet($parts) group by 1",
                           {"parts": [str(part) for part in parts]}).fetchall()
        return {reason: int(count) for reason, count in rows}
    finally:
        con.close()
