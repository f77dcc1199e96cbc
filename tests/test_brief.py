"""The printable borough brief: rendered from literal rows, its content, captions, sources,
licences, print stylesheet and escaping checked; its sparklines drawn to scale."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from citydash import boroughs
from citydash.brief import Brief, Source, brief_sentences, render_brief, sparkline_svg
from citydash.catalog import Metric

NO2 = Metric(id="no2", dataset="air", label="Nitrogen dioxide (NO₂)", unit="µg/m³", aggregation="mean",
             better="lower")
ENTRIES = Metric(id="entries", dataset="counts", label="Entries", unit="people", aggregation="sum",
                 area_aggregation="sum", better="higher")
METRICS = {"air.no2": NO2, "counts.entries": ENTRIES}
AREAS = pd.DataFrame({"borough_code": ["A", "B", "C", "D"], "borough_name": ["Avon", "Brent", "Calder", "Dart"],
                      "borough_group": ["inner", "inner", "outer", "outer"], "area_ha": [900.0, 1200.0, 5000.0, 6100.0]})
ROWS = pd.DataFrame([
    {"dataset": "air", "metric": "no2", "borough_code": code, "period": period, "mean_value": value, "total": 0.0,
     "peak_sum": 0.0, "peak_max": 0.0, "readings": 10, "days": 31}
    for code, period, value in [("A", "current", 40.0), ("A", "previous", 50.0), ("B", "current", 30.0),
                                ("C", "current", 20.0), ("D", "current", 60.0)]
] + [
    {"dataset": "counts", "metric": "entries", "borough_code": code, "period": "current", "mean_value": 1.0,
     "total": value, "peak_sum": 0.0, "peak_max": 0.0, "readings": 10, "days": 31}
    for code, value in [("A", 2_500_000.0), ("C", 1_000.0)]
])
TRENDS = pd.DataFrame({
    "metric_key": ["air.no2"] * 6,
    "scope": ["borough"] * 3 + ["average"] * 3,
    "bucket": pd.to_datetime(["2026-03-01", "2026-03-02", "2026-03-03"] * 2),
    "value": [30.0, 50.0, 40.0, 35.0, 35.0, 35.0],
})
OGL = ("Open Government Licence v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/")


def make_brief(borough_name: str = "Avon", synthetic: bool = False) -> Brief:
    values = boroughs.borough_values(ROWS, METRICS, AREAS)
    table = boroughs.standings(values, "A", METRICS, list(METRICS))
    neighbours = pd.DataFrame({"borough_code": ["B", "C"], "distance": [0.5, 1.25]})
    neighbour_rows = boroughs.neighbour_table("A", neighbours, values, AREAS, list(METRICS))
    neighbour_rows.loc[0, "borough_name"] = borough_name
    return Brief(
        city_name="Testville", area_label="borough", area_label_plural="boroughs", borough_name=borough_name,
        group_label="Inner Testville", area_ha=900.0, period_text="March 2026",
        previous_text="the previous 31 days (29 Jan to 28 Feb 2026)", snapshot="0123abcdef",
        generated="1 Apr 2026 09:00 UTC",
        overall=boroughs.overall_sentence(table, borough_name, "in March 2026"), standings=table,
        sentences=brief_sentences(table, METRICS, "in March 2026", "the previous 31 days", "boroughs"),
        metrics=METRICS, group_labels={"inner": "Inner Testville", "outer": "Outer Testville"}, trends=TRENDS,
        trend_step="day", neighbours=neighbour_rows,
        neighbour_sentences=boroughs.neighbour_sentences(neighbour_rows, METRICS, list(METRICS))[1:],
        neighbour_method="The 2 boroughs most like Avon on size, group and metrics.",
        sites_sentence="The map shows 3 sites in Avon (3 reporting in the period): Air 1; Counts 2.",
        sources=[Source(title="Air monitoring", publisher="Air Agency", licence=OGL[0], licence_url=OGL[1],
                        attribution="Contains public sector information.", source_url="https://example.org/air",
                        synthetic=synthetic, refreshed="refreshed 31 Mar 2026 (1 days ago)"),
                 Source(title="Counts", publisher="Count Office", licence="CC BY 4.0", licence_url="",
                        attribution="© Count Office.", source_url="", synthetic=False,
                        refreshed="refreshed 30 Mar 2026 (2 days ago)")],
        boundaries_attribution="Test boundaries © Crown copyright.",
        link="http://localhost:8501/borough?borough=A&snapshot=0123abcdef")


class TagBalance(HTMLParser):
    VOID = {"meta", "br", "polyline", "line", "circle", "link", "img", "input"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def test_the_brief_is_one_well_formed_self_contained_document():
    document = render_brief(make_brief())
    assert document.startswith("<!DOCTYPE html>") and '<html lang="en">' in document
    assert '<meta charset="utf-8">' in document and "<title>Avon: borough brief, March 2026</title>" in document
    checker = TagBalance()
    checker.feed(document)
    assert checker.problems == [] and checker.stack == []
    assert "<script" not in document.lower()
    assert not re.search(r"\ssrc=", document), "no images or scripts fetched from anywhere"
    assert "url(" not in document and "@import" not in document


def test_the_print_stylesheet_fits_a4_and_keeps_sections_whole():
    document = render_brief(make_brief())
    assert "@page { size: A4;" in document
    assert "@media print" in document
    assert "break-inside: avoid" in document


def test_the_brief_states_period_snapshot_figures_ranks_and_changes():
    document = render_brief(make_brief())
    text = re.sub(r"<[^>]+>", " ", document)
    assert "Period:  March 2026 , compared with" in text and "the previous 31 days (29 Jan to 28 Feb 2026)" in text
    assert "Data snapshot 0123abcdef" in text
    row = re.search(r"<tr><th scope=\"row\">Nitrogen dioxide \(NO₂\).*?</tr>", document).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # Avon 40, change -20% on 50, rank 2 of 4 (60, 40, 30, 20), averages 37.5, inner 35.0, outer 40.0.
    assert cells == ["40.0", "-20%", "2 of 4", "37.5", "35.0", "40.0"]
    entries = re.search(r"<tr><th scope=\"row\">Entries.*?</tr>", document).group(0)
    assert re.findall(r'<td class="num">([^<]*)</td>', entries)[:3] == ["2.5 million", "not compared", "1 of 2"]
    assert "(people; higher is better)" in entries and "(µg/m³; lower is better)" in row


def test_every_section_has_its_caption_and_words():
    document = render_brief(make_brief())
    assert "<caption>Table 1. Avon's headline figures for March 2026" in document
    assert "<caption>Table 2. Statistical neighbours. The 2 boroughs most like Avon" in document
    assert "Avon: no data" not in document
    assert "Nitrogen dioxide (NO₂): 40.0 µg/m³, 2nd highest of 4 boroughs (lower is better); " \
           "down 20% on the previous 31 days." in document
    assert "Nitrogen dioxide (NO₂): Avon (40.0 µg/m³) is higher than 2 of the 2 neighbours with data" in document
    assert "The map shows 3 sites in Avon" in document


def test_sources_and_licences_are_in_place():
    document = render_brief(make_brief())
    footer = document.split("<footer>")[1]
    for expected in ("Air monitoring", "Air Agency", OGL[0], f'href="{OGL[1]}"', "Contains public sector information.",
                     'href="https://example.org/air"', "Refreshed 31 Mar 2026", "Counts", "Count Office",
                     "CC BY 4.0", "© Count Office.", "Test boundaries © Crown copyright.",
                     "http://localhost:8501/borough?borough=A&amp;snapshot=0123abcdef"):
        assert expected in footer, expected


def test_synthetic_data_is_flagged_and_real_data_is_not():
    assert "Demo data, not real measurements: Air monitoring." in render_brief(make_brief(synthetic=True))
    assert "Demo data" not in render_brief(make_brief(synthetic=False))


def test_a_sparkline_per_headline_metric_with_its_text_alternative():
    document = render_brief(make_brief())
    assert document.count("<svg") == 2
    assert "<title>Nitrogen dioxide (NO₂) in Avon, day by day, with the average borough dotted</title>" in document
    assert document.count("no data</text>") == 1, "Entries has no trend rows"


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>", "Avon & <b>Brent</b>", "\"quoted\" 'name'"])
def test_data_text_is_escaped_everywhere(name):
    document = render_brief(make_brief(borough_name=name))
    assert name not in document
    assert "<img" not in document and "<b>" not in document
    checker = TagBalance()
    checker.feed(document)
    assert checker.problems == []


def points(svg: str, group: int) -> list[list[tuple[float, float]]]:
    groups = re.findall(r"<g [^>]*>(.*?)</g>", svg)
    return [[tuple(float(number) for number in pair.split(",")) for pair in line.split()]
            for line in re.findall(r'<polyline points="([^"]+)"/>', groups[group])]


def test_sparklines_are_drawn_to_scale_from_zero_and_break_at_gaps():
    svg = sparkline_svg([0.0, 10.0, None, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0, 5.0], "NO2 <trend>", width=102, height=22)
    own = points(svg, 1)
    assert len(own) == 2, "a missing value breaks the line in two"
    (x0, y0), (x1, y1) = own[0]
    assert (x0, y0) == (1.0, 21.0) and (x1, y1) == (26.0, 1.0), "zero at the bottom, the highest at the top"
    assert own[1] == [(76.0, 11.0), (101.0, 11.0)]
    assert points(svg, 0) == [[(1.0, 11.0), (26.0, 11.0), (51.0, 11.0), (76.0, 11.0), (101.0, 11.0)]]
    assert "<title>NO2 &lt;trend&gt;</title>" in svg and 'role="img"' in svg


def test_a_sparkline_without_data_says_so():
    svg = sparkline_svg([None, np.nan], [], "nothing")
    assert "no data" in svg and "<polyline" not in svg
