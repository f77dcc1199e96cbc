"""Deterministic synthetic demo data in the data contract, for any city pack.

Everything is drawn from the pack's own boundaries: entities are placed inside area polygons,
"central" means near the pack's map centre and "inner" is the boundaries' group property, so a
pack for another city gets plausible demo data without code changes. The same seed gives the
same parquet bytes. Every demo dataset is marked synthetic in the catalogue, and the app says so.

The shapes are chosen to make a demo honest about what real data looks like: daily and weekly
cycles, seasons, a few pollution episodes, gaps, stuck and dead sensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from citydash.catalog import Catalog
from citydash.contract import Extract
from citydash.geo import load_areas, random_points_in

DEMO_START = datetime(2025, 11, 1)
DEMO_DAYS = 365
DEMO_DATASETS = ("air_quality", "stations", "cycle_hire", "road_traffic", "street_sensors")


@dataclass(frozen=True)
class DemoClock:
    """Hourly (or finer) UTC instants of the demo period and their calendar features."""

    start: datetime
    days: int
    step_minutes: int = 60

    @property
    def ts(self) -> pd.DatetimeIndex:
        periods = self.days * 24 * 60 // self.step_minutes
        return pd.date_range(self.start, periods=periods, freq=f"{self.step_minutes}min", unit="us")

    def local(self, timezone: str) -> pd.DatetimeIndex:
        return self.ts.tz_localize("UTC").tz_convert(timezone)


def _hour_of_day(local: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(local.hour) + np.asarray(local.minute) / 60


def _seasonal(local: pd.DatetimeIndex, winter_high: float) -> np.ndarray:
    """1 + winter_high at mid-January, 1 - winter_high at mid-July."""
    day = np.asarray(local.day_of_year)
    return 1 + winter_high * np.cos(2 * np.pi * (day - 15) / 365.25)


def _regional_weather(rng: np.random.Generator, n: int, rho: float, sigma: float) -> np.ndarray:
    """A slowly varying multiplicative factor shared by every site (the city's weather)."""
    shocks = rng.normal(0, sigma, n)
    factor = np.empty(n)
    level = 0.0
    for index in range(n):
        level = rho * level + shocks[index]
        factor[index] = level
    return np.exp(factor)


def _place(areas: gpd.GeoDataFrame, counts: np.ndarray, rng: np.random.Generator,
           centre: tuple[float, float], pull: float) -> pd.DataFrame:
    """Points inside each area polygon, `counts[i]` for area i, drawn towards the centre."""
    rows = []
    for (code, name, group, geometry), count in zip(
            areas[["code", "name", "group", "geometry"]].itertuples(index=False), counts):
        if count == 0:
            continue
        points = random_points_in(geometry, int(count), rng, centre, pull)
        for lon, lat in points:
            rows.append({"area": code, "area_name": name, "group": group, "lat": lat, "lon": lon})
    placed = pd.DataFrame(rows)
    distance_km = np.hypot((placed["lon"] - centre[0]) * 69.4, (placed["lat"] - centre[1]) * 111.2)
    return placed.assign(centrality=np.exp(-distance_km.to_numpy() / 8.0))


def _allocate(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    counts = np.full(len(weights), minimum)
    remaining = max(total - counts.sum(), 0)
    extra = np.floor(weights / weights.sum() * remaining).astype(int)
    counts += extra
    order = np.argsort(-weights, kind="stable")
    counts[order[: total - counts.sum()]] += 1 if total > counts.sum() else 0
    return counts


def _long(entity_ids: np.ndarray, ts: pd.DatetimeIndex, metric: str, values: np.ndarray,
          keep: np.ndarray | None = None) -> pd.DataFrame:
    """Observations from an (entities x times) matrix; cells where keep is False are absent."""
    n_entities, n_times = values.shape
    entity_index = np.repeat(np.arange(n_entities), n_times)
    time_index = np.tile(np.arange(n_times), n_entities)
    flat = values.reshape(-1)
    mask = np.isfinite(flat) if keep is None else (keep.reshape(-1) & np.isfinite(flat))
    return pd.DataFrame({
        "entity_id": pd.Categorical.from_codes(entity_index[mask], categories=entity_ids),
        "ts": ts.to_numpy()[time_index[mask]],
        "metric": metric,
        "value": flat[mask],
    })


def _outages(rng: np.random.Generator, shape: tuple[int, int], blocks_per_entity: float,
             max_block: int, random_share: float) -> np.ndarray:
    """True where a reading exists: whole-block outages plus scattered missing readings."""
    keep = rng.random(shape) >= random_share
    n_entities, n_times = shape
    for entity in range(n_entities):
        for _ in range(rng.poisson(blocks_per_entity)):
            start = rng.integers(0, n_times)
            keep[entity, start:start + rng.integers(1, max_block)] = False
    return keep


def _names(placed: pd.DataFrame, label: str) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for area_name in placed["area_name"]:
        seen[area_name] = seen.get(area_name, 0) + 1
        names.append(f"{area_name} {label} {seen[area_name]}")
    return names


def air_quality(areas, clock: DemoClock, timezone: str, centre, rng, scale: float) -> Extract:
    inner = (areas["group"] == "inner").to_numpy()
    counts = _allocate(np.where(inner, 1.6, 1.0), round(100 * scale), minimum=1 if scale < 1 else 2)
    placed = _place(areas, counts, rng, centre, pull=0.15)
    n = len(placed)
    kinds = np.where(
        placed["group"].eq("inner"),
        rng.choice(["Roadside", "Kerbside", "Urban Background"], n, p=[0.5, 0.15, 0.35]),
        rng.choice(["Roadside", "Urban Background", "Suburban"], n, p=[0.4, 0.3, 0.3]))
    entity_ids = np.array([f"AQ{index + 1:03d}" for index in range(n)])
    entities = pd.DataFrame({"entity_id": entity_ids, "name": _names(placed, "monitoring site"),
                             "kind": kinds, "lat": placed["lat"], "lon": placed["lon"], "borough_code": None})

    local = clock.local(timezone)
    hours = _hour_of_day(local)
    weekend = np.asarray(local.day_of_week >= 5)
    times = len(local)
    weather = _regional_weather(rng, times, rho=0.97, sigma=0.07)
    # A few city-wide episodes (still, cold air; Saharan dust) lasting two to four days.
    episodes = np.ones(times)
    for _ in range(max(1, clock.days // 90)):
        start = rng.integers(0, max(times - 96, 1))
        length = min(int(rng.integers(48, 97)), times - start)
        episodes[start:start + length] *= np.hanning(length) * 1.6 + 1
    kind_no2 = {"Kerbside": 62.0, "Roadside": 46.0, "Urban Background": 27.0, "Suburban": 17.0}
    base_no2 = np.array([kind_no2[kind] for kind in kinds])
    base_no2 *= np.where(placed["group"].eq("inner"), 1.2, 0.9) * (0.8 + 0.5 * placed["centrality"].to_numpy())
    traffic = 1 + 0.45 * np.exp(-((hours - 8) ** 2) / 4) + 0.40 * np.exp(-((hours - 18) ** 2) / 5) \
        - 0.35 * np.exp(-((hours - 3.5) ** 2) / 6)
    traffic = traffic * np.where(weekend, 0.8, 1.0)
    roadside = np.isin(kinds, ["Roadside", "Kerbside"])[:, None]
    site_noise = lambda sigma: np.exp(rng.normal(0, sigma, (n, times)))  # noqa: E731
    no2 = base_no2[:, None] * np.where(roadside, traffic, 1 + (traffic - 1) * 0.5) \
        * _seasonal(local, 0.22) * weather * episodes ** 0.6 * site_noise(0.18)
    pm25_base = 9.0 * np.where(roadside[:, 0], 1.15, 1.0) * np.where(placed["group"].eq("inner"), 1.1, 1.0)
    pm25 = pm25_base[:, None] * _seasonal(local, 0.3) * weather * episodes * site_noise(0.2)
    pm10 = pm25 * (1.6 + 0.4 * roadside) * site_noise(0.1)
    sunshine = np.clip(np.sin(np.pi * (hours - 6) / 14), 0, None)
    o3_base = np.where(np.isin(kinds, ["Suburban", "Urban Background"]), 55.0, 38.0)
    o3 = o3_base[:, None] * (0.55 + 0.8 * sunshine) * _seasonal(local, -0.3) / weather ** 0.5 * site_noise(0.2)

    frames = []
    for metric, values in (("no2", no2), ("pm25", pm25), ("pm10", pm10), ("o3", o3)):
        keep = _outages(rng, values.shape, blocks_per_entity=clock.days / 120, max_block=24 * 6, random_share=0.02)
        frames.append(_long(entity_ids, clock.ts, metric, np.round(values, 1), keep))
    return Extract(entities=entities, observations=pd.concat(frames, ignore_index=True))


def stations(areas, clock: DemoClock, timezone: str, centre, rng, scale: float) -> Extract:
    inner = (areas["group"] == "inner").to_numpy()
    counts = _allocate(np.where(inner, 3.0, 1.0), round(270 * scale), minimum=1)
    placed = _place(areas, counts, rng, centre, pull=0.1)
    n = len(placed)
    central = placed["centrality"].to_numpy()
    kinds = np.where(central > 0.35, rng.choice(["Underground", "DLR"], n, p=[0.85, 0.15]),
                     rng.choice(["Underground", "Overground", "National Rail"], n, p=[0.4, 0.3, 0.3]))
    entity_ids = np.array([f"ST{index + 1:03d}" for index in range(n)])
    entities = pd.DataFrame({"entity_id": entity_ids, "name": _names(placed, "station"), "kind": kinds,
                             "lat": placed["lat"], "lon": placed["lon"], "borough_code": None})
    days = pd.date_range(clock.start, periods=clock.days, freq="D", unit="us")
    weekday = np.asarray(days.day_of_week)
    day_factor = np.select([weekday == 5, weekday == 6], [0.62, 0.48], 1.0)
    month = np.asarray(days.month)
    holidays = np.where(month == 8, 0.85, 1.0) * np.where((month == 12) & (np.asarray(days.day) >= 24), 0.45, 1.0)
    size = 6000 * np.exp(rng.normal(0, 0.5, n)) * (1 + 9 * central ** 1.5)
    noise = np.exp(rng.normal(0, 0.06, (n, clock.days)))
    entries = np.round(size[:, None] * (day_factor * holidays)[None, :] * noise)
    exits = np.round(entries * np.exp(rng.normal(0, 0.03, entries.shape)))
    observations = pd.concat([_long(entity_ids, days, "entries", entries),
                              _long(entity_ids, days, "exits", exits)], ignore_index=True)
    return Extract(entities=entities, observations=observations)


def cycle_hire(areas, clock: DemoClock, timezone: str, centre, rng, scale: float) -> Extract:
    placed_all = _place(areas, _allocate(np.ones(len(areas)), round(900 * scale), minimum=0), rng, centre, pull=0.55)
    # Docks sit where the scheme runs: the central area.
    placed = placed_all[placed_all["centrality"] > 0.3].head(max(1, round(300 * scale))).reset_index(drop=True)
    n = len(placed)
    entity_ids = np.array([f"DK{index + 1:04d}" for index in range(n)])
    entities = pd.DataFrame({"entity_id": entity_ids, "name": _names(placed, "docking station"),
                             "kind": "Docking station", "lat": placed["lat"], "lon": placed["lon"],
                             "borough_code": None})
    local = clock.local(timezone)
    hours = _hour_of_day(local)
    weekend = np.asarray(local.day_of_week >= 5)
    commute = 0.2 + 2.2 * np.exp(-((hours - 8.2) ** 2) / 1.2) + 2.0 * np.exp(-((hours - 17.8) ** 2) / 1.8) \
        + 0.6 * np.exp(-((hours - 13) ** 2) / 6)
    leisure = 0.1 + 1.6 * np.exp(-((hours - 14) ** 2) / 10)
    shape = np.where(weekend, leisure, commute) * np.clip(np.sin(np.pi * (hours - 5) / 19), 0.02, None)
    rainy_day = np.repeat(rng.random(clock.days) < 0.3, len(local) // clock.days)
    weather = np.where(rainy_day, 0.45, 1.0) * _seasonal(local, -0.35)
    popularity = np.exp(rng.normal(0, 0.45, n)) * (0.6 + placed["centrality"].to_numpy())
    hires = rng.poisson(popularity[:, None] * shape[None, :] * weather[None, :] * 1.4).astype("float64")
    capacity = rng.choice([15, 18, 20, 24, 27, 30, 36, 42], n).astype("float64")
    days = pd.date_range(clock.start, periods=clock.days, freq="D", unit="us")
    capacity_daily = np.repeat(capacity[:, None], clock.days, axis=1)
    observations = pd.concat([_long(entity_ids, clock.ts, "hires", hires),
                              _long(entity_ids, days, "dock_capacity", capacity_daily)], ignore_index=True)
    return Extract(entities=entities, observations=observations)


def road_traffic(areas, clock: DemoClock, timezone: str, centre, rng, scale: float) -> Extract:
    counts = _allocate(np.ones(len(areas)), round(160 * scale), minimum=1)
    placed = _place(areas, counts, rng, centre, pull=0.0)
    n = len(placed)
    kinds = rng.choice(["Major road", "Minor road"], n, p=[0.6, 0.4])
    entity_ids = np.array([f"CP{index + 1:04d}" for index in range(n)])
    entities = pd.DataFrame({"entity_id": entity_ids, "name": _names(placed, "count point"), "kind": kinds,
                             "lat": placed["lat"], "lon": placed["lon"], "borough_code": None})
    days = pd.date_range(clock.start, periods=clock.days, freq="D", unit="us")
    weekday = np.asarray(days.day_of_week)
    day_factor = np.select([weekday == 5, weekday == 6], [0.85, 0.7], 1.0)
    major = kinds == "Major road"
    inner = placed["group"].eq("inner").to_numpy()
    central = placed["centrality"].to_numpy()
    volume = np.where(major, 18000.0, 4000.0) * np.exp(rng.normal(0, 0.35, n))
    # Shares by vehicle type: more cycles and buses centrally, more goods vehicles outside.
    shares = {
        "cars": 0.74 - 0.2 * central,
        "buses": 0.02 + 0.05 * central,
        "lgvs": np.full(n, 0.14),
        "hgvs": np.where(inner, 0.03, 0.06),
        "motorcycles": 0.02 + 0.02 * central,
        "pedal_cycles": 0.02 + 0.25 * central ** 1.3,
    }
    trend = np.linspace(1.0, 0.97, clock.days)
    frames = []
    for metric, share in shares.items():
        seasonal = 1 + (0.25 if metric == "pedal_cycles" else 0.03) * np.cos(2 * np.pi * (np.asarray(days.day_of_year) - 196) / 365.25)
        values = rng.poisson(volume[:, None] * share[:, None] * (day_factor * trend * seasonal)[None, :]).astype("float64")
        frames.append(_long(entity_ids, days, metric, values))
    return Extract(entities=entities, observations=pd.concat(frames, ignore_index=True))


def street_sensors(areas, clock: DemoClock, timezone: str, centre, rng, scale: float) -> Extract:
    quarter = DemoClock(clock.start, clock.days, step_minutes=15)
    local = quarter.local(timezone)
    hours = _hour_of_day(local)
    weekend = np.asarray(local.day_of_week >= 5)
    times = len(local)
    plan = {"Noise sensor": round(24 * scale), "Footfall counter": round(16 * scale), "Climate sensor": round(20 * scale)}
    placed = _place(areas, _allocate(np.ones(len(areas)), sum(plan.values()), minimum=0), rng, centre, pull=0.45)
    kinds = np.repeat(list(plan), list(plan.values()))[: len(placed)]
    kinds = rng.permutation(kinds)
    n = len(kinds)
    placed = placed.head(n).reset_index(drop=True)
    entity_ids = np.array([f"SNS{index + 1:04d}" for index in range(n)])
    labels = {"Noise sensor": "noise sensor", "Footfall counter": "footfall counter", "Climate sensor": "climate sensor"}
    names = [f"{area} {labels[kind]} {index + 1}" for index, (area, kind) in enumerate(zip(placed["area_name"], kinds))]
    entities = pd.DataFrame({"entity_id": entity_ids, "name": names, "kind": kinds,
                             "lat": placed["lat"], "lon": placed["lon"], "borough_code": None})
    central = placed["centrality"].to_numpy()
    activity = np.clip(np.sin(np.pi * (hours - 5.5) / 18), 0, None) * np.where(weekend, 0.8, 1.0)
    temperature_city = 11 + 7 * -np.cos(2 * np.pi * (np.asarray(local.day_of_year) - 15) / 365.25) \
        + 4 * np.sin(np.pi * (hours - 9) / 12) + np.cumsum(rng.normal(0, 0.08, times)) % 3
    frames = []

    def faults(values: np.ndarray, stuck_value: bool) -> np.ndarray:
        """Outages, a stuck spell for some sensors and a few dead ones, as real networks have."""
        keep = _outages(rng, values.shape, blocks_per_entity=clock.days / 60, max_block=4 * 24 * 3, random_share=0.01)
        for row in range(values.shape[0]):
            if stuck_value and rng.random() < 0.15:
                start = rng.integers(0, times - 1)
                values[row, start:start + rng.integers(4 * 12, 4 * 72)] = values[row, start]
            if rng.random() < 0.06:
                # Dead: stops reporting for good somewhere in the last quarter of the period.
                keep[row, rng.integers(int(times * 0.75), times):] = False
        return keep

    for kind, metric_values in (
        ("Noise sensor", lambda m: {"noise_db": 48 + 14 * central[m, None] + 12 * activity[None, :]
                                    + rng.normal(0, 2.5, (m.sum(), times))}),
        ("Footfall counter", lambda m: {"footfall": rng.poisson(
            (5 + 400 * central[m, None] ** 1.5) * activity[None, :] ** 2 * 0.5).astype("float64")}),
        ("Climate sensor", lambda m: {
            "temperature": temperature_city[None, :] + 1.5 * central[m, None] + rng.normal(0, 0.4, (m.sum(), times)),
            "humidity": np.clip(78 - 2.2 * (temperature_city[None, :] - 11) + rng.normal(0, 4, (m.sum(), times)), 15, 100)}),
    ):
        members = kinds == kind
        if not members.any():
            continue
        for metric, values in metric_values(members).items():
            values = np.round(values, 1)
            keep = faults(values, stuck_value=metric != "footfall")
            if metric == "noise_db":
                spikes = rng.random(values.shape) < 0.0004
                values = np.where(spikes, 115.0, values)
            frames.append(_long(entity_ids[members], quarter.ts, metric, values, keep))
    return Extract(entities=entities, observations=pd.concat(frames, ignore_index=True))


GENERATORS: dict[str, Callable[..., Extract]] = {
    "air_quality": air_quality,
    "stations": stations,
    "cycle_hire": cycle_hire,
    "road_traffic": road_traffic,
    "street_sensors": street_sensors,
}


def generate(catalog: Catalog, dataset_id: str, seed: int = 42, scale: float = 1.0,
             days: int = DEMO_DAYS, start: datetime = DEMO_START) -> Extract:
    """One demo dataset as an Extract; a child generator per dataset keeps each reproducible alone."""
    areas = load_areas(catalog.city.boundaries)
    centre = (catalog.city.map_view["longitude"], catalog.city.map_view["latitude"])
    rng = np.random.default_rng([seed, DEMO_DATASETS.index(dataset_id)])
    clock = DemoClock(start, days)
    return GENERATORS[dataset_id](areas, clock, catalog.city.timezone, centre, rng, scale)


def _as_tile(extract: Extract, tile: int) -> Extract:
    """An extract with entity ids and names marked as the tile's own, so tiles never collide."""
    if tile == 0:
        return extract
    suffix = f"-t{tile + 1}"
    entities = extract.entities.assign(entity_id=extract.entities["entity_id"] + suffix,
                                       name=extract.entities["name"] + f" (tile {tile + 1})")
    codes, uniques = pd.factorize(extract.observations["entity_id"])
    renamed = pd.Categorical.from_codes(codes, categories=[f"{entity_id}{suffix}" for entity_id in uniques])
    return Extract(entities=entities, observations=extract.observations.assign(entity_id=renamed),
                   rejects=extract.rejects)


def generate_parts(catalog: Catalog, dataset_id: str, seed: int = 42, scale: float = 1.0,
                   days: int = DEMO_DAYS, start: datetime = DEMO_START,
                   part_scale: float = 1.0) -> Iterator[Extract]:
    """One demo dataset at any scale, as tiles of at most `part_scale` each (for publish_parts).

    Each tile is a demo city of its own (its own sites and weather) with ids suffixed '-t<n>',
    so memory stays that of one tile however large the scale. One tile is exactly generate()."""
    tiles = max(1, math.ceil(scale / part_scale - 1e-9))
    if tiles == 1:
        yield generate(catalog, dataset_id, seed=seed, scale=scale, days=days, start=start)
        return
    areas = load_areas(catalog.city.boundaries)
    centre = (catalog.city.map_view["longitude"], catalog.city.map_view["latitude"])
    clock = DemoClock(start, days)
    for tile in range(tiles):
        rng = np.random.default_rng([seed, DEMO_DATASETS.index(dataset_id), tile])
        extract = GENERATORS[dataset_id](areas, clock, catalog.city.timezone, centre, rng, scale / tiles)
        yield _as_tile(extract, tile)
