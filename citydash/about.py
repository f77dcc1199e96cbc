"""The "About this dashboard" page's content: the sources table and what a metric's numbers can and
cannot tell you, built from the catalogue. No Streamlit here.

Nothing is written about a particular city or dataset: every name, publisher and licence comes
from the city pack's catalogue, so another city's pack gets a true About page for free.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import pandas as pd

from citydash.catalog import Catalog, Dataset, Metric

SOURCE_COLUMNS = ("dataset", "subject", "publisher", "licence", "kind", "published", "refreshed", "source")
OVER_TIME = {"mean": "averaged", "sum": "added up", "max": "reduced to their highest value"}
ACROSS_AREAS = {"mean": "the average of", "sum": "the total of", "max": "the highest of"}


def sources_table(datasets: list[Dataset], available: Collection[str],
                  refreshed: Callable[[Dataset], str]) -> pd.DataFrame:
    """One row per dataset: who publishes it, its licence, real or synthetic, and how fresh it is.

    `refreshed` words a dataset's freshness (the app passes ui.freshness_text) so that this table
    and the footer never disagree.
    """
    rows = [{
        "dataset": dataset.title,
        "subject": dataset.domain.capitalize(),
        "publisher": dataset.publisher,
        "licence": dataset.licence.title,
        "kind": "Synthetic (demo)" if dataset.synthetic else "Real",
        "published": "Yes" if dataset.id in available else "Not yet",
        "refreshed": refreshed(dataset) if dataset.id in available else "",
        "source": dataset.source_url or None,
    } for dataset in sorted(datasets, key=lambda dataset: (dataset.domain, dataset.title))]
    return pd.DataFrame(rows, columns=list(SOURCE_COLUMNS))


def sources_sentence(table: pd.DataFrame) -> str:
    published = table[table["published"] == "Yes"]
    synthetic = int((published["kind"] != "Real").sum())
    text = (f"{len(table)} dataset{'s' if len(table) != 1 else ''} in the catalogue, "
            f"{len(published)} with data on this server")
    if synthetic:
        text += f", of which {synthetic} {'is' if synthetic == 1 else 'are'} synthetic demo data"
    return text + "."


def metric_notes(metric: Metric, dataset: Dataset, cat: Catalog) -> list[str]:
    """Plain sentences on how a metric's figures are made and what limits what they mean."""
    area = cat.city.area_label
    notes = [
        f"{metric.label} is measured in {metric.unit}. Over a period, each site's readings are "
        f"{OVER_TIME[metric.aggregation]}; a {area}'s figure is {ACROSS_AREAS[metric.area_aggregation]} "
        f"its sites' figures, and the whole of {cat.city.name} is worked out the same way.",
        f"A {area} with no site reporting has no figure (shown as \"no data\"), which is not the same as zero. "
        f"Tables beside the maps give the number of sites behind each figure: a figure from one or two sites "
        f"says little about a whole {area}.",
    ]
    if metric.better == "lower":
        notes.append(f"Lower is better: when a selection is compared with {cat.city.name}, a lower figure is "
                     "shown as the better one.")
    else:
        notes.append("Higher figures mean more activity; the dashboard does not judge whether that is good.")
    index = cat.indices.get(metric.bands) if metric.bands else None
    if index:
        notes.append(f"Levels are also banded with the {index.get('title', metric.bands)}. "
                     f"{index.get('attribution', '')}".strip())
    if metric.thresholds:
        marks = ", ".join(f"{value:g} {metric.unit}" for value in metric.thresholds)
        notes.append(f"Thresholds marked on the charts: {marks}.")
    if metric.disclosure:
        notes.append(f"Counts below {metric.disclosure} {metric.unit} are not shown as numbers, so that no "
                     "one can be picked out from them.")
    if dataset.synthetic:
        notes.append(f"{dataset.title} is synthetic demo data, made up by the dashboard: it shows how the "
                     "dashboard works and nothing about the real city. Do not quote it.")
    elif dataset.description:
        notes.append(dataset.description)
    notes.append(f"Source: {dataset.publisher}. Licence: {dataset.licence.title}.")
    return notes


def general_limits(cat: Catalog) -> list[str]:
    """What no figure on this dashboard can tell you, whatever the metric."""
    area, areas = cat.city.area_label, cat.city.area_label_plural
    return [
        f"What one {area}'s residents breathe, hear or experience: sites are points, few, and often placed "
        "where problems are expected (beside busy roads, at busy stations).",
        "Why something changed: two figures that move together may share a cause without one causing the other.",
        f"A fair league table of {areas}: {areas} differ in size, in how many sites they have and in what kind, "
        "so a rank is a starting point for a question, not an answer.",
        "Anything about a day, place or dataset that is not in the data: gaps are shown as gaps, never filled in.",
    ]
