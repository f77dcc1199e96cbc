"""The printable borough brief: one self-contained HTML page per borough, sized for A4.

Small tables, inline SVG sparklines drawn here (no image files, no scripts, nothing fetched),
a caption under each table, the data period, the data snapshot, and the sources and licences
of every dataset it quotes. A print stylesheet keeps it to one page. Every piece of data text
is HTML-escaped. Pure: the page builds a Brief from the same frames it shows, then renders it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from citydash.boroughs import (better_phrase, change_phrase, display_number, display_value, is_suppressed,
                               rank_phrase)
from citydash.catalog import Metric

SPARK_WIDTH = 110
SPARK_HEIGHT = 24
SPARK_LINE = "#0072B2"
SPARK_AVERAGE = "#4D4D4D"

PRINT_CSS = """
@page { size: A4; margin: 11mm 12mm; }
* { box-sizing: border-box; }
body { font: 9pt/1.3 "Source Sans Pro", Arial, Helvetica, sans-serif; color: #1F2933; margin: 0 auto;
       max-width: 186mm; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 17pt; margin: 0 0 2pt 0; }
h2 { font-size: 10.5pt; margin: 6pt 0 2pt 0; border-bottom: 1.5pt solid #0072B2; padding-bottom: 1pt; }
p { margin: 2pt 0 4pt 0; }
.meta { color: #3E4C59; font-size: 9pt; }
.demo { border: 1.5pt solid #D55E00; padding: 2pt 6pt; font-weight: 600; margin: 3pt 0; font-size: 8.8pt; }
table { border-collapse: collapse; width: 100%; font-size: 8.8pt; }
th, td { border-bottom: 0.6pt solid #CBD2D9; padding: 1.2pt 4pt; text-align: left; vertical-align: middle; }
tbody th { font-weight: 600; background: none; }
th small { font-weight: 400; color: #52606D; }
th.group { text-align: center; border-bottom: 0.6pt solid #9AA5B1; }
td.nowrap { white-space: nowrap; }
th { background: #F0F4F8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
caption { caption-side: bottom; text-align: left; font-size: 8pt; color: #52606D; padding-top: 2pt; }
ul { margin: 2pt 0 4pt 0; padding-left: 12pt; }
li { margin: 0 0 1pt 0; }
.words li { font-size: 8pt; }
.sources li { font-size: 7pt; margin: 0; line-height: 1.2; }
svg { display: block; }
section { break-inside: avoid; page-break-inside: avoid; }
footer { font-size: 7.8pt; color: #52606D; margin-top: 6pt; border-top: 0.6pt solid #CBD2D9; padding-top: 3pt; }
@media screen { body { padding: 12pt; } }
@media print { a { color: inherit; text-decoration: none; } .screen-only { display: none; } }
"""


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    licence: str
    licence_url: str
    attribution: str
    source_url: str
    synthetic: bool
    refreshed: str


@dataclass(frozen=True)
class Brief:
    """What a brief says; the frames are the ones the profile page shows."""

    city_name: str
    area_label: str
    area_label_plural: str
    borough_name: str
    group_label: str
    area_ha: float
    period_text: str
    previous_text: str
    snapshot: str
    generated: str
    overall: str
    standings: pd.DataFrame           # citydash.boroughs.standings
    sentences: Sequence[str]          # one per standings row
    metrics: Mapping[str, Metric]
    group_labels: Mapping[str, str]   # borough_group -> label, e.g. inner -> Inner London
    trends: pd.DataFrame              # citydash.boroughs.trend_series
    trend_step: str                   # "day" or "week"
    neighbours: pd.DataFrame          # citydash.boroughs.neighbour_table
    neighbour_sentences: Sequence[str]
    neighbour_method: str
    sites_sentence: str
    sources: Sequence[Source]
    boundaries_attribution: str
    link: str = ""
    notes: Sequence[str] = field(default_factory=tuple)


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def sparkline_svg(own: Sequence[float | None], average: Sequence[float | None], label: str,
                  width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT) -> str:
    """A tiny line chart from zero to the highest value: `own` solid, `average` dotted.

    Missing values break the line. `label` is its text alternative (an SVG <title>).
    """
    values = [float(value) for value in list(own) + list(average) if not _missing(value)]
    title = f"<title>{_text(label)}</title>"
    if not values:
        return (f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">{title}'
                f'<text x="0" y="{height - 8}" font-size="9" fill="#52606D">no data</text></svg>')
    low, high = min(0.0, min(values)), max(values)
    span = high - low or 1.0
    count = max(len(own), len(average), 2)

    def path(series: Sequence[float | None]) -> str:
        segments, current = [], []
        for index, value in enumerate(series):
            if _missing(value):
                if current:
                    segments.append(current)
                current = []
                continue
            x = 1 + index * (width - 2) / (count - 1)
            y = 1 + (high - float(value)) * (height - 2) / span
            current.append(f"{x:.1f},{y:.1f}")
        if current:
            segments.append(current)
        return "".join(f'<polyline points="{" ".join(points)}"/>' if len(points) > 1 else
                       f'<circle cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}" r="1.2"/>'
                       for points in segments)

    return (f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">{title}'
            f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#CBD2D9" stroke-width="0.8"/>'
            f'<g fill="none" stroke="{SPARK_AVERAGE}" stroke-width="1" stroke-dasharray="2 2">{path(average)}</g>'
            f'<g fill="none" stroke="{SPARK_LINE}" stroke-width="1.6">{path(own)}</g></svg>')


def _series(trends: pd.DataFrame, key: str, scope: str, buckets: Sequence) -> list[float | None]:
    rows = trends[(trends["metric_key"] == key) & (trends["scope"] == scope)].set_index("bucket")["value"]
    return [None if bucket not in rows.index or _missing(rows[bucket]) else float(rows[bucket]) for bucket in buckets]


def _headline_rows(brief: Brief) -> str:
    scopes = [column.removeprefix("average_") for column in brief.standings.columns if column.startswith("average_")]
    scope_names = [brief.city_name if scope == "all" else brief.group_labels.get(scope, scope) for scope in scopes]
    rows = []
    buckets = sorted(brief.trends["bucket"].unique()) if len(brief.trends) else []
    for record in brief.standings.to_dict("records"):
        metric = brief.metrics[record["metric_key"]]
        if _missing(record["value"]):
            change = "no data"
        elif _missing(record["change_pct"]):
            change = "not compared"
        elif abs(record["change_pct"]) < 0.5:
            change = "0%"
        else:
            change = f"{record['change_pct']:+.0f}%"
        rank = ("none" if _missing(record["rank"]) else
                f"{'=' if record['tied'] else ''}{int(record['rank'])} of {record['ranked']}")
        averages = "".join(
            f'<td class="num">{_text(display_number(record.get(f"average_{scope}"), metric))}</td>'
            for scope in scopes)
        spark = sparkline_svg(_series(brief.trends, record["metric_key"], "borough", buckets),
                              _series(brief.trends, record["metric_key"], "average", buckets),
                              f"{metric.label} in {brief.borough_name}, {brief.trend_step} by {brief.trend_step}, "
                              f"with the average {brief.area_label} dotted")
        rows.append(
            f'<tr><th scope="row">{_text(metric.label)} <small>({_text(metric.unit)}; '
            f'{_text(better_phrase(metric.better))})</small></th>'
            f'<td class="num">{_text(display_number(record["value"], metric))}</td>'
            f'<td class="num">{_text(change)}</td><td class="num">{_text(rank)}</td>{averages}<td>{spark}</td></tr>')
    header = (f'<tr><th rowspan="2">Metric (unit; better)</th>'
              f'<th class="num" rowspan="2">{_text(brief.borough_name)}</th>'
              f'<th class="num" rowspan="2">Change</th><th class="num" rowspan="2">Rank</th>'
              f'<th class="num group" colspan="{len(scopes)}">Average {_text(brief.area_label)}</th>'
              f'<th rowspan="2">Trend</th></tr>'
              f'<tr>{"".join(f"<th class=num>{_text(name)}</th>" for name in scope_names)}</tr>')
    caption = (f"Table 1. {_text(brief.borough_name)}'s headline figures for {_text(brief.period_text)}, "
               "each in its unit. "
               f"Change: against {_text(brief.previous_text)}. Rank: 1 = highest value among the "
               f"{_text(brief.area_label_plural)} with data (= joint). Averages: each {_text(brief.area_label)} with "
               f"data counts once. Trend: {_text(brief.borough_name)} {_text(brief.trend_step)} by "
               f"{_text(brief.trend_step)} (solid) and the average {_text(brief.area_label)} (dotted), from zero.")
    return (f'<table class="headline"><caption>{caption}</caption><thead>{header}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _neighbour_rows(brief: Brief, keys: Sequence[str]) -> str:
    header = "".join(f'<th class="num">{_text(brief.metrics[key].label)} <small>({_text(brief.metrics[key].unit)})'
                     f'</small></th>' for key in keys)
    rows = []
    for record in brief.neighbours.to_dict("records"):
        group = brief.group_labels.get(record["borough_group"], record["borough_group"])
        cells = "".join(
            f'<td class="num">{_text(display_number(record.get(key), brief.metrics[key]))}</td>'
            for key in keys)
        rows.append(f"<tr><th scope=\"row\">{_text(record['borough_name'])}</th>"
                    f"<td class=\"nowrap\">{_text(group)}</td>"
                    f"<td class=\"num\">{record['distance']:.2f}</td>{cells}</tr>")
    caption = f"Table 2. Statistical neighbours. {_text(brief.neighbour_method)}"
    return (f"<table><caption>{caption}</caption><thead><tr><th>{_text(brief.area_label.capitalize())}</th>"
            f"<th>Group</th><th class=\"num\">Distance</th>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _sources(brief: Brief) -> str:
    items = []
    for source in brief.sources:
        kind = "synthetic" if source.synthetic else "real data"
        link = f' (<a href="{_text(source.source_url)}">source</a>)' if source.source_url else ""
        licence = (f'<a href="{_text(source.licence_url)}">{_text(source.licence)}</a>' if source.licence_url
                   else _text(source.licence))
        items.append(f"<li><strong>{_text(source.title)}</strong> ({kind}): {_text(source.publisher)}{link}. "
                     f"Licence: {licence}. {_text(source.attribution)} "
                     f"{_text(source.refreshed[:1].upper() + source.refreshed[1:])}.</li>")
    items.append(f"<li>{_text(brief.area_label_plural.capitalize())} boundaries: "
                 f"{_text(brief.boundaries_attribution)}</li>")
    return f'<ul class="sources">{"".join(items)}</ul>'


def render_brief(brief: Brief) -> str:
    """The brief as one HTML document (UTF-8), ready to save, open and print."""
    keys = [key for key in brief.standings["metric_key"]][:4] if len(brief.standings) else []
    synthetic = [source.title for source in brief.sources if source.synthetic]
    demo = (f'<p class="demo">Demo data, not real measurements: {_text(", ".join(synthetic))}. '
            "Do not quote these figures.</p>") if synthetic else ""
    notes = "".join(f"<p class=\"meta\">{_text(note)}</p>" for note in brief.notes)
    link = (f'<p class="meta">This view online: <a href="{_text(brief.link)}">{_text(brief.link)}</a></p>'
            if brief.link else "")
    words = "".join(f"<li>{_text(sentence)}</li>" for sentence in brief.sentences)
    neighbour_words = "".join(f"<li>{_text(sentence)}</li>" for sentence in brief.neighbour_sentences)
    title = f"{brief.borough_name}: {brief.area_label} brief, {brief.period_text}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_text(title)}</title>
<style>{PRINT_CSS}</style>
</head>
<body>
<header>
<h1>{_text(brief.borough_name)}</h1>
<p class="meta">{_text(brief.city_name)} {_text(brief.area_label)} brief · {_text(brief.group_label)} ·
{brief.area_ha:,.0f} ha · Period: <strong>{_text(brief.period_text)}</strong>, compared with
{_text(brief.previous_text)} · Data snapshot {_text(brief.snapshot)} · Made {_text(brief.generated)}</p>
{demo}{notes}
</header>
<section aria-labelledby="summary">
<h2 id="summary">Summary</h2>
<p>{_text(brief.overall)}</p>
</section>
<section aria-labelledby="headline">
<h2 id="headline">Headline figures</h2>
{_headline_rows(brief)}
<ul class="words screen-only">{words}</ul>
</section>
<section aria-labelledby="neighbours">
<h2 id="neighbours">Compared with its statistical neighbours</h2>
{_neighbour_rows(brief, keys)}
<ul class="words">{neighbour_words}</ul>
</section>
<section aria-labelledby="sites">
<h2 id="sites">Sites</h2>
<p>{_text(brief.sites_sentence)}</p>
</section>
<footer>
<strong>Sources and licences</strong>
{_sources(brief)}
{link}
</footer>
</body>
</html>
"""


def render_failure(borough_name: str, area_label: str, period_text: str, message: str) -> str:
    """What the brief's file says when its figures could not be worked out (a query failed or took
    too long): the reason, rather than a download that breaks."""
    title = f"{borough_name}: {area_label} brief, {period_text}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_text(title)}</title>
<style>{PRINT_CSS}</style>
</head>
<body>
<h1>{_text(borough_name)}</h1>
<p>The brief could not be made: {_text(message)}</p>
</body>
</html>
"""


def brief_sentences(standings: pd.DataFrame, metrics: Mapping[str, Metric], when: str, previous_text: str,
                    area_label_plural: str) -> list[str]:
    """Short sentences for the brief: the page's standing sentences without the borough's name."""
    sentences = []
    for record in standings.to_dict("records"):
        metric = metrics[record["metric_key"]]
        if _missing(record["value"]):
            sentences.append(f"{metric.label}: no data {when}.")
            continue
        change = ("small counts are not compared" if is_suppressed(record["value"], metric) else
                  change_phrase(record["change_pct"], record["change_note"], previous_text))
        sentences.append(
            f"{metric.label}: {display_value(record['value'], metric)}, "
            f"{rank_phrase(record['rank'], record['ranked'], record['areas'], record['tied'], area_label_plural)}"
            f" ({better_phrase(metric.better)}); {change}.")
    return sentences

