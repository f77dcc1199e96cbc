"""Pure builders for the data catalogue page: each dataset's provenance, freshness and coverage,
and the upload form's fields turned into an import request. No Streamlit here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import tempfile

import numpy as np
import pandas as pd
import pydeck as pdk

from citydash import state
from citydash.catalog import Catalog, Dataset, Manifest
from citydash.ingest.errors import IngestError
from citydash.ingest.importer import ImportRequest, MetricSpec, parse_metric_spec
from citydash.maps import NO_DATA, SEQUENTIAL, ColourBin
from citydash.text import escape_markdown

PUBLISHED = "Published"
NOT_INGESTED = "Not ingested yet"
CANNOT_LOAD = "Cannot be loaded"
STALE = "Stale"
UP_TO_DATE = "Up to date"
NO_REFRESH_DATE = "Refresh date unknown"
OFFICER = "officer"
IMPORT_REFUSAL = (
    "Importing data is for council officers who have signed in. This is the public dashboard: it shows "
    "the datasets published for everyone, and uploads are switched off so that nothing unchecked can "
    "appear on it."
)


def md(text: object) -> str:
    """Catalogue text (titles, publishers: typed by officers) shown as typed inside Markdown."""
    return escape_markdown(text)


def web_link(url: str) -> str | None:
    """The URL when it is an http(s) address that can be a link, else None."""
    url = url.strip()
    if url.lower().startswith(("https://", "http://")) and not any(char in url for char in " <>()[]\"'"):
        return url
    return None


@dataclass(frozen=True)
class Freshness:
    stale: bool | None  # None when the dataset has never been published
    badge: str
    refreshed: str  # "25 Nov 2026 13:54 (3 days ago)", or "never"
    expected: str  # "every 30 days"


def _aware(moment: datetime) -> datetime:
    """Manifests written by older code hold naive times; they were always UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def freshness(dataset: Dataset, manifest: Manifest | None, now: datetime, city_timezone: str) -> Freshness:
    """Stale when older than the dataset's expected refresh interval, said in words."""
    expected = f"every {dataset.refresh_days:g} day{'' if dataset.refresh_days == 1 else 's'}"
    if manifest is None:
        return Freshness(None, NO_REFRESH_DATE, "never", expected)
    refreshed = _aware(manifest.refreshed)
    days = (_aware(now) - refreshed).total_seconds() / 86_400
    age = "today" if days < 1 else "1 day ago" if days < 2 else f"{math.floor(days):,} days ago"
    local = refreshed.astimezone(ZoneInfo(city_timezone))
    stale = days > dataset.refresh_days
    return Freshness(stale, STALE if stale else UP_TO_DATE, f"{local:%d %b %Y %H:%M} ({age})", expected)


def coverage_text(first_day: object, last_day: object) -> str:
    if first_day is None or last_day is None or pd.isna(first_day) or pd.isna(last_day):
        return "no readings"
    first, last = pd.Timestamp(first_day), pd.Timestamp(last_day)
    if first == last:
        return f"{first:%d %b %Y}"
    return f"{first:%d %b %Y} to {last:%d %b %Y}"


def boroughs_text(names: list[str], total: int, area_label_plural: str, shown: int = 8) -> str:
    """'3 of 33 boroughs: Camden, Hackney, Westminster' (long lists cut with 'and N more')."""
    if not names:
        return f"none of the {total} {area_label_plural}"
    if len(names) == total:
        return f"all {total} {area_label_plural}"
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return f"{len(names)} of {total} {area_label_plural}: {listed}"


@dataclass(frozen=True)
class CatalogueEntry:
    """One dataset as the catalogue page shows it."""

    dataset: Dataset
    status: str
    problem: str | None
    freshness: Freshness
    coverage: str
    entities: int | None
    observations: int | None
    borough_names: tuple[str, ...]
    metric_lines: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "Synthetic (demo)" if self.dataset.synthetic else "Real"


def _metric_lines(dataset: Dataset, metric_counts: pd.DataFrame) -> tuple[str, ...]:
    counts = metric_counts[metric_counts["dataset"] == dataset.id].set_index("metric")
    lines = []
    for metric in dataset.metrics:
        if metric.id in counts.index:
            row = counts.loc[metric.id]
            held = (f"{int(row['observations']):,} observations at {int(row['entities']):,} places, "
                    f"{coverage_text(row['first_day'], row['last_day'])}")
        else:
            held = "no readings"
        lines.append(f"{metric.label} ({metric.unit}), {metric.aggregation} over time: {held}")
    return tuple(lines)


def catalogue_entries(catalog: Catalog, access: str, available: set[str], unpublished: set[str],
                      problems: dict[str, str], counts: pd.DataFrame, coverage: pd.DataFrame,
                      metric_counts: pd.DataFrame, now: datetime) -> list[CatalogueEntry]:
    """Every dataset the session may see, published or not, in catalogue order.

    counts, coverage and metric_counts are the catalogue_datasets, catalogue_borough_coverage and
    catalogue_metrics query results; problems maps dataset id -> why it cannot be loaded.
    """
    by_dataset = counts.set_index("dataset")
    entries = []
    for dataset in catalog.visible(access):
        manifest = catalog.manifest(dataset.id) if dataset.id not in unpublished else None
        published = dataset.id in available and dataset.id in by_dataset.index
        if dataset.id in problems:
            status = CANNOT_LOAD
        elif published:
            status = PUBLISHED
        else:
            status = NOT_INGESTED
        row = by_dataset.loc[dataset.id] if published else None
        names = coverage.loc[coverage["dataset"] == dataset.id, "borough_name"].tolist() if published else []
        entries.append(CatalogueEntry(
            dataset=dataset, status=status, problem=problems.get(dataset.id),
            freshness=freshness(dataset, manifest, now, catalog.city.timezone),
            coverage=coverage_text(row["first_day"], row["last_day"]) if row is not None else "none",
            entities=int(row["entities"]) if row is not None else None,
            observations=int(row["observations"]) if row is not None else None,
            borough_names=tuple(names),
            metric_lines=_metric_lines(dataset, metric_counts) if published else (),
        ))
    return entries


def status_badge(entry: CatalogueEntry) -> tuple[str, str, str]:
    """(text, colour, icon) of the dataset's state; the text says it, the colour only repeats it."""
    if entry.status == CANNOT_LOAD:
        return CANNOT_LOAD, "red", ":material/error:"
    if entry.status == NOT_INGESTED:
        return NOT_INGESTED, "gray", ":material/hourglass_empty:"
    if entry.freshness.stale:
        return f"{STALE}: older than expected", "orange", ":material/schedule:"
    return UP_TO_DATE, "green", ":material/check_circle:"


def summary_table(entries: list[CatalogueEntry], area_total: int) -> pd.DataFrame:
    """One row per dataset: what the page's table shows and its CSV download holds."""
    return pd.DataFrame([{
        "Dataset": entry.dataset.title,
        "Id": entry.dataset.id,
        "Status": entry.status,
        "Freshness": entry.freshness.badge if entry.status == PUBLISHED else "",
        "Refreshed": entry.freshness.refreshed,
        "Expected refresh": entry.freshness.expected,
        "Time coverage": entry.coverage,
        "Places": entry.entities,
        "Observations": entry.observations,
        "Areas covered": (f"{len(entry.borough_names)} of {area_total}" if entry.status == PUBLISHED else ""),
        "Domain": entry.dataset.domain,
        "Access": entry.dataset.access,
        "Data": entry.kind,
        "Publisher": entry.dataset.publisher,
        "Licence": entry.dataset.licence.title,
        "Attribution": entry.dataset.attribution,
        "Source": entry.dataset.source_url,
    } for entry in entries]).astype({"Places": "Int64", "Observations": "Int64"}, errors="ignore")


def coverage_values(coverage: pd.DataFrame, dataset_id: str, areas: pd.DataFrame) -> pd.DataFrame:
    """Places per area of one dataset, every area listed (value null where it has none), for the map."""
    rows = coverage[coverage["dataset"] == dataset_id][["borough_code", "entities", "observations"]]
    frame = areas[["borough_code", "borough_name"]].merge(rows, on="borough_code", how="left")
    # The table says 0; the map leaves those areas grey (no value) rather than colouring a zero.
    return frame.assign(value=frame["entities"].astype("float64"),
                        entities=frame["entities"].fillna(0).astype("int64"),
                        observations=frame["observations"].fillna(0).astype("int64"))


def coverage_sentence(values: pd.DataFrame, dataset_title: str, area_label_plural: str) -> str:
    """The map in one sentence, for readers who cannot see it."""
    covered = values.dropna(subset=["value"]).sort_values(["value", "borough_name"], ascending=[False, True])
    total = len(values)
    if covered.empty:
        return f"{dataset_title} has no places in any of the {total} {area_label_plural}."
    most = int(covered["value"].max())
    leaders = covered[covered["value"] == most]["borough_name"].tolist()
    places = int(covered["value"].sum())
    uncovered = "" if len(covered) == total else f" {area_label_plural.capitalize()} in grey have none."
    # A tie is said as one: naming the first of 33 equal areas alphabetically would say it has the most.
    if len(leaders) == 1:
        where = f"the most are in {leaders[0]} ({most:,})"
    elif len(leaders) == len(covered):
        where = f"each has {count_text(most, 'places')}"
    elif len(leaders) <= 3:
        where = f"the most ({most:,} each) are in {', '.join(leaders[:-1])} and {leaders[-1]}"
    else:
        where = f"the most ({most:,} each) are in {len(leaders)} {area_label_plural}"
    return (f"{dataset_title} has {count_text(places, 'places')} in {len(covered)} of the {total} "
            f"{area_label_plural}; {where}.{uncovered}")


def count_bins(values: pd.Series, count: int = 5) -> list[ColourBin]:
    """Bins of whole numbers (1 to 2, 3 to 4, ...) from the smallest count to the largest; equal widths,
    so a colour means the same amount everywhere on the legend."""
    finite = values.dropna()
    if finite.empty:
        return []
    low, high = int(finite.min()), int(finite.max())
    if low == high:
        return [ColourBin(float(low), float(high), SEQUENTIAL[len(SEQUENTIAL) // 2])]
    edges = sorted(set(np.ceil(np.linspace(low - 1, high, min(count, high - low + 1) + 1)).astype(int).tolist()))
    spans = list(zip(edges[:-1], edges[1:]))
    palette = [SEQUENTIAL[round(index * (len(SEQUENTIAL) - 1) / max(len(spans) - 1, 1))] for index in range(len(spans))]
    return [ColourBin(float(low + 1), float(high_edge), colour) for (low, high_edge), colour in zip(spans, palette)]


def count_text(count: float, noun: str) -> str:
    """'1 place', '3 places' (the noun given in the plural)."""
    return f"{count:,.0f} {noun.removesuffix('s') if count == 1 else noun}"


def _count_range(low: float, high: float, noun: str) -> str:
    return count_text(low, noun) if low == high else f"{low:,.0f} to {count_text(high, noun)}"


def count_legend_html(title: str, bins: list[ColourBin], noun: str, has_missing: bool) -> str:
    """The map's legend with whole-number ranges, in the shared legend's markup (citydash.maps)."""
    rows = [f'<li><span class="cd-swatch" style="background:rgb({bin.colour[0]},{bin.colour[1]},{bin.colour[2]})">'
            f"</span>{html.escape(_count_range(bin.low, bin.high, noun))}</li>" for bin in bins]
    if has_missing:
        rows.append('<li><span class="cd-swatch" style="background:rgb({},{},{})"></span>none</li>'.format(*NO_DATA))
    return (f'<figure class="cd-legend" aria-label="Map legend: {html.escape(title)}">'
            f'<figcaption>{html.escape(title)}</figcaption><ul>{"".join(rows)}</ul></figure>')


def label_counts(deck: pdk.Deck, values: pd.DataFrame, noun: str) -> pdk.Deck:
    """Tooltips of a citydash.maps choropleth as whole counts ('3 places', 'none') rather than decimals."""
    by_code = values.set_index("borough_code")["value"]
    for feature in deck.layers[0].data["features"]:
        value = by_code.get(feature["properties"]["code"])
        feature["properties"]["label"] = "none" if value is None or pd.isna(value) else count_text(value, noun)
    return deck


@contextmanager
def saved_upload(name: str, content: bytes) -> Iterator[Path]:
    """An uploaded file written to a private temporary folder under its own name (no folders)."""
    with tempfile.TemporaryDirectory(prefix="citydash-upload-") as folder:
        path = Path(folder) / (Path(name).name or "upload.csv")
        path.write_bytes(content)
        yield path


@dataclass(frozen=True)
class ImportForm:
    """The upload form's fields, as typed."""

    dataset: str
    title: str
    licence: str
    publisher: str
    attribution: str
    unit: str = ""
    metric: str = ""
    metric_label: str = ""
    aggregation: str = "mean"
    better: str = "higher"
    mappings: str = ""
    source_url: str = ""
    domain: str = "other"
    access: str = OFFICER
    refresh_days: float = 30
    description: str = ""
    wide: bool = False
    date: str = ""
    date_column: str = ""
    value_column: str = ""
    name_column: str = ""
    encoding: str = ""


def request_from_form(path: Path, form: ImportForm, city_timezone: str) -> ImportRequest:
    """The import request for an uploaded file; the same request the CLI builds from its options."""
    lines = [line.strip() for line in form.mappings.splitlines() if line.strip()]
    if lines and form.metric.strip():
        raise IngestError("fill in either one metric for every value in the file, or the column mappings, "
                          "not both")
    if lines:
        metrics = tuple(parse_metric_spec(line) for line in lines)
    elif form.metric.strip():
        spec = parse_metric_spec(form.metric.strip())
        metrics = (MetricSpec(id=spec.id, label=form.metric_label.strip() or None, unit=form.unit.strip() or None,
                              aggregation=form.aggregation, better=form.better),)
    else:
        metrics = ()
    reading: dict[str, object] = {"timezone": city_timezone}
    for field, value in (("date", form.date), ("date_column", form.date_column),
                         ("value_column", form.value_column), ("name_column", form.name_column),
                         ("encoding", form.encoding)):
        if value.strip():
            reading[field] = value.strip()
    if form.wide:
        reading["wide"] = True
    return ImportRequest(
        path=path, dataset=form.dataset.strip(), metrics=metrics, title=form.title.strip(),
        unit=form.unit.strip() or None, licence=form.licence, publisher=form.publisher.strip(),
        attribution=form.attribution.strip(), source_url=form.source_url.strip() or None, domain=form.domain,
        access=form.access, refresh_days=form.refresh_days, description=form.description.strip() or None,
        reading=reading,
    )


COVERAGE_PARAM = "coverage"  # the link's parameter for the dataset on the coverage map


def coverage_choice_from_param(text: str | None, dataset_ids: list[str], default: str) -> tuple[str, tuple[str, ...]]:
    """The coverage map's dataset from a link: a published dataset's id, else `default` with a notice."""
    if text is None or not str(text).strip():
        return default, ()
    wanted = str(text)[:state.MAX_PARAM_LENGTH].strip()
    if wanted in dataset_ids:
        return wanted, ()
    return default, (f"Ignored the dataset {state._short(wanted)!r} in the link: no published dataset has that id.",)


def import_refusal(access: str) -> str | None:
    """Why this session may not import, or None when it may."""
    return None if access == OFFICER else IMPORT_REFUSAL
