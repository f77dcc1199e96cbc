"""The one module that talks to DuckDB.

One in-memory DuckDB connection per process holds views over the pack's parquet extracts; every
query runs on its own cursor (Streamlit serves each session on its own thread, and a DuckDB
connection must not be shared across threads without cursors). SQL lives in queries/*.sql and is
run with bound $parameters only. The views a query can see depend on the session's access level:
each level has its own schema, and a cursor's search_path points at exactly one of them, so an
officer-only dataset does not exist for a public session.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from citydash.catalog import ACCESS_LEVELS, Catalog, Dataset
from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS
from citydash.geo import load_areas

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"

# The tables every published dataset has, by view name -> file suffix (see catalog.extract_path).
TABLES = {
    "observations": "",
    "entities": "entities",
    "entity_daily": "entity_daily",
    "borough_daily": "borough_daily",
}

ENTITY_DAILY_COLUMNS = ["entity_id", "borough_code", "day", "metric", "n", "total", "peak", "low"]
BOROUGH_DAILY_COLUMNS = ["borough_code", "day", "metric", "n", "total", "peak", "low", "entities"]
REQUIRED_COLUMNS = {
    "observations": list(OBSERVATION_COLUMNS),
    "entities": list(ENTITY_COLUMNS),
    "entity_daily": ENTITY_DAILY_COLUMNS,
    "borough_daily": BOROUGH_DAILY_COLUMNS,
}


class QueryError(RuntimeError):
    """A query could not run; the message is safe to show to a user."""


class QueryTimeout(QueryError):
    pass


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
    # Timestamps are UTC throughout; the session zone must not shift them.
    con.execute("set TimeZone = 'UTC'")
    return con


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _schema_for(access: str) -> str:
    if access not in ACCESS_LEVELS:
        raise QueryError(f"unknown access level {access!r}")
    return f"access_{access}"


class Database:
    """Views over a city pack's extracts, and bound-parameter queries against them."""

    def __init__(self, catalog: Catalog, memory_limit: str = "2GB", threads: int = 2,
                 timeout_s: float = 10.0, queries_dir: Path = QUERIES_DIR):
        self.catalog = catalog
        self.timeout_s = timeout_s
        self.queries_dir = queries_dir
        self._con = _connect(memory_limit=memory_limit, threads=threads)
        self.problems: list[DatasetProblem] = []
        self.available: set[str] = set()
        self.unpublished: set[str] = set()
        self._register()

    def _is_published(self, dataset: Dataset) -> bool:
        """Any trace of a publish: a dataset with none is simply not ingested yet, not broken."""
        return self.catalog.manifest_path(dataset.id).exists() or any(
            self.catalog.extract_path(dataset.id, suffix).exists() for suffix in TABLES.values())

    def _check_dataset(self, dataset: Dataset) -> DatasetProblem | None:
        for table, suffix in TABLES.items():
            path = self.catalog.extract_path(dataset.id, suffix)
            if not path.is_file():
                return DatasetProblem(dataset.id, path, "is missing")
            try:
                names = {row[0] for row in self._con.execute(
                    "select name from parquet_schema($path)", {"path": str(path)}).fetchall()}
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
        for dataset in self.catalog.datasets.values():
            if not self._is_published(dataset):
                self.unpublished.add(dataset.id)
                continue
            problem = self._check_dataset(dataset)
            if problem:
                self.problems.append(problem)
                continue
            for table, suffix in TABLES.items():
                path = _quote_literal(str(self.catalog.extract_path(dataset.id, suffix)))
                self._con.execute(f"create or replace view datasets.{dataset.id}__{table} as "
                                  f"select * from read_parquet({path})")
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
                columns = ", ".join(REQUIRED_COLUMNS[table])
                parts = [f"select '{dataset.id}' as dataset, {columns} from datasets.{dataset.id}__{table}"
                         for dataset in visible]
                if not parts:
                    parts = [f"select null::varchar as dataset, {self._typed_nulls(table)} where false"]
                self._con.execute(f"create or replace view {schema}.{table} as " + " union all ".join(parts))
            ids = ", ".join(f"('{dataset.id}')" for dataset in visible) or "(null)"
            self._con.execute(f"create or replace view {schema}.visible_datasets as "
                              f"select dataset from (values {ids}) as listed(dataset) where dataset is not null")

    @staticmethod
    def _typed_nulls(table: str) -> str:
        types = {**OBSERVATION_COLUMNS, **ENTITY_COLUMNS, "borough_code": "VARCHAR", "day": "DATE",
                 "n": "BIGINT", "total": "DOUBLE", "peak": "DOUBLE", "low": "DOUBLE", "entities": "BIGINT"}
        return ", ".join(f"null::{types[column]} as {column}" for column in REQUIRED_COLUMNS[table])

    def cursor(self, access: str = "public") -> duckdb.DuckDBPyConnection:
        cursor = self._con.cursor()
        cursor.execute(f"set search_path = '{_schema_for(access)},main'")
        return cursor

    def run(self, query: str, access: str = "public", **params) -> pd.DataFrame:
        """Run queries/<query>.sql with bound parameters; the frame has the header's columns."""
        contract = load_query(query, self.queries_dir)
        unexpected = set(params) - set(contract.params)
        missing = set(contract.params) - set(params)
        if unexpected or missing:
            raise QueryError(f"query {query!r} takes {sorted(contract.params)}; "
                             f"missing {sorted(missing)}, unexpected {sorted(unexpected)}")
        cursor = self.cursor(access)
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

    def run_sql_file(self, path: Path, **params) -> duckdb.DuckDBPyRelation:
        """A relation for a model SQL file (rollups), for writing to parquet."""
        return self._con.sql(path.read_text(encoding="utf-8"), params=params)

    def close(self) -> None:
        self._con.close()


def write_rollups(catalog: Catalog, dataset_id: str, staging: dict[str, Path]) -> None:
    """Derive the daily rollups of a dataset from its staged observations and entities.

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
