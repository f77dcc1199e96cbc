"""The data contract every dataset follows, as code.

A dataset is two parquet files in the extracts folder:
  <dataset>_entities.parquet  the things observed (sites, stations, docks, sensors)
  <dataset>.parquet           observations in long format, sorted by (metric, ts)
plus rollups derived from them (see citydash.ingest.publish).

Connectors return an `Extract`: the rows they understood and the rows they could not,
each rejected row with a reason. They never write files; publishing is one shared step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ENTITY_COLUMNS: dict[str, str] = {
    "entity_id": "VARCHAR",
    "name": "VARCHAR",
    "kind": "VARCHAR",
    "lat": "DOUBLE",
    "lon": "DOUBLE",
    "borough_code": "VARCHAR",
}

OBSERVATION_COLUMNS: dict[str, str] = {
    "entity_id": "VARCHAR",
    "ts": "TIMESTAMP",
    "metric": "VARCHAR",
    "value": "DOUBLE",
}

# One row per rejected input record: where it came from, why, and what it said.
REJECT_COLUMNS: dict[str, str] = {
    "source": "VARCHAR",
    "record": "VARCHAR",
    "reason": "VARCHAR",
    "raw": "VARCHAR",
}


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    dtypes = {"VARCHAR": "object", "DOUBLE": "float64", "TIMESTAMP": "datetime64[us]"}
    return pd.DataFrame({name: pd.Series(dtype=dtypes[kind]) for name, kind in columns.items()})


def rejects_frame(rows: list[dict]) -> pd.DataFrame:
    """Rejected records from literal dicts with the keys of REJECT_COLUMNS."""
    if not rows:
        return empty_frame(REJECT_COLUMNS)
    frame = pd.DataFrame(rows, columns=list(REJECT_COLUMNS))
    return frame.astype("object").where(frame.notna(), None)


@dataclass
class Extract:
    """What a connector read: entities, observations, and rejected records.

    entities: ENTITY_COLUMNS; borough_code may be None, publish assigns it by
      point-in-polygon (a point in a gap between areas, such as a river, gets the
      nearest one) and rejects entities outside the city.
    observations: OBSERVATION_COLUMNS; ts naive UTC, no NaN values (missing = no row).
    rejects: REJECT_COLUMNS.
    """

    entities: pd.DataFrame
    observations: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: empty_frame(REJECT_COLUMNS))
