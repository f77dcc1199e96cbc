"""Small-number suppression of counts of people, on literal rows."""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from citydash.disclosure import SECONDARY_NOTE, is_disclosive, note_of, protect_totals, suppress_counts

CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "catalog.toml"


def csv_fields(frame: pd.DataFrame) -> list[str]:
    return [field for row in csv.reader(io.StringIO(frame.to_csv(index=False))) for field in row]


def footfall() -> pd.DataFrame:
    # Names and other values are free of the digit 9 so a leak of the 9 shows in the CSV text.
    return pd.DataFrame({
        "site": ["Oxford St", "Quiet Lane", "Bank", "Empty Mews", "Broken", "Strand"],
        "footfall": [1234.0, 9.0, 10.0, 0.0, np.nan, 1.0],
    })


def test_small_counts_are_hidden_everywhere_in_the_output():
    result = suppress_counts(footfall(), "footfall", 10)
    quiet = result.set_index("site").loc["Quiet Lane"]
    assert np.isnan(quiet["footfall"])
    assert quiet["footfall_display"] == "<10"
    assert bool(quiet["suppressed"])
    text = result.to_csv(index=False)
    assert "9" not in text
    fields = csv_fields(result)
    assert "9" not in fields and "9.0" not in fields and "1.0" not in fields


def test_counts_at_the_threshold_and_zero_are_shown():
    result = suppress_counts(footfall(), "footfall", 10).set_index("site")
    assert result.loc["Bank", "footfall"] == 10.0
    assert result.loc["Bank", "footfall_display"] == "10"
    assert result.loc["Oxford St", "footfall_display"] == "1,234"
    assert result.loc["Empty Mews", "footfall"] == 0.0
    assert result.loc["Empty Mews", "footfall_display"] == "0"
    assert result.loc["Broken", "footfall_display"] == "no data"
    assert result.loc["Strand", "footfall_display"] == "<10"
    assert list(result["suppressed"]) == [False, True, False, False, False, True]


def test_input_frame_is_not_changed():
    frame = footfall()
    suppress_counts(frame, "footfall", 10)
    pd.testing.assert_frame_equal(frame, footfall())


def test_threshold_text_follows_the_threshold():
    result = suppress_counts(pd.DataFrame({"n": [4, 5, 12]}), "n", 5)
    assert list(result["n_display"]) == ["<5", "5", "12"]
    assert list(result["n"].isna()) == [True, False, False]


def test_secondary_suppression_hides_the_next_smallest_cell_of_a_group():
    frame = pd.DataFrame({
        "borough": ["A", "A", "A", "B", "B", "B", "C", "C", "C"],
        "hour": [8, 12, 18] * 3,
        "footfall": [9, 40, 12, 3, 4, 50, 5, 0, 30],
    })
    result = protect_totals(frame, ["borough"], "footfall", 10)
    hidden = set(zip(result.loc[result["suppressed"], "borough"], result.loc[result["suppressed"], "hour"]))
    assert hidden == {
        ("A", 8), ("A", 18),  # 12 is the smallest other cell: A's total no longer gives the 9 away
        ("B", 8), ("B", 12),  # two small cells already protect each other
        ("C", 8), ("C", 18),  # the zero is not picked: 30 is
    }
    shown = dict(zip(zip(result["borough"], result["hour"]), result["footfall_display"]))
    # Each marker is true of the value under it: "<10" only over a count below 10.
    assert [shown[cell] for cell in sorted(hidden)] == ["<10", "suppressed", "<10", "<10", "<10", "suppressed"]
    kinds = dict(zip(zip(result["borough"], result["hour"]), result["suppression"]))
    assert kinds[("A", 18)] == "protects a total" and kinds[("A", 8)] == "small" and kinds[("A", 12)] == ""
    assert result.loc[result["suppressed"], "footfall"].isna().all()
    assert "9" not in result.to_csv(index=False)


def test_secondary_suppression_with_total_rows():
    frame = pd.DataFrame({
        "borough": ["A", "A", "A", "A", "B", "B", "B", "D", "D", "D"],
        "hour": ["8", "12", "18", "all", "8", "12", "all", "8", "12", "all"],
        "footfall": [9, 40, 12, 61, 5, np.nan, 20, 30, 45, 75],
        "is_total": [False, False, False, True, False, False, True, False, False, True],
    })
    result = protect_totals(frame, ["borough"], "footfall", 10, total_col="is_total")
    shown = result.set_index(["borough", "hour"])
    assert shown.loc[("A", "18"), "footfall_display"] == "suppressed"  # secondary: 12 is not "<10"
    assert shown.loc[("A", "all"), "footfall_display"] == "61"  # the total stays
    assert shown.loc[("A", "12"), "footfall_display"] == "40"
    # B's only other cell has no data, so only hiding the total protects the 5.
    assert shown.loc[("B", "all"), "footfall_display"] == "suppressed"  # its 20 is not small
    assert shown.loc[("B", "8"), "footfall_display"] == "<10"
    assert not shown.loc[pd.IndexSlice["D", :], "suppressed"].any()


def test_no_visible_total_minus_visible_cells_reveals_a_hidden_cell():
    frame = pd.DataFrame({
        "area": list("AAAABBBBCCCC"),
        "is_total": [False, False, False, True] * 3,
        "count": [2, 14, 11, 27, 0, 6, 25, 31, 7, 8, 0, 15],
    })
    result = protect_totals(frame, ["area"], "count", 10, total_col="is_total")
    # 2, 11 and 14 in A (with only the 11, the total would leave the 2 between 1 and 3), 6 and 25 in B,
    # 7 and 8 in C.
    assert result["suppressed"].sum() == 7
    for _, group in result.groupby("area"):
        cells = group[~group["is_total"]]
        total_visible = not group.loc[group["is_total"], "suppressed"].any()
        if total_visible:
            assert cells["suppressed"].sum() != 1


def test_protect_totals_respects_earlier_suppression():
    once = suppress_counts(pd.DataFrame({"g": ["A", "A", "A"], "n": [9, 20, 30]}), "n", 10)
    result = protect_totals(once, ["g"], "n", 10)
    assert list(result["suppressed"]) == [True, True, False]
    assert list(result["n_display"]) == ["<10", "suppressed", "30"]


def test_a_secondary_cell_never_claims_to_be_small_and_says_why_it_is_hidden():
    frame = pd.DataFrame({"day": ["d1"] * 4, "is_total": [False, False, False, True],
                          "footfall": [7.0, 45.0, 130.0, 182.0]})
    result = protect_totals(frame, ["day"], "footfall", 10, total_col="is_total")
    assert list(result["footfall_display"]) == ["<10", "suppressed", "130", "182"]
    assert list(result["suppression"]) == ["small", "protects a total", "", ""]
    assert note_of("protects a total", 10) == SECONDARY_NOTE and "total" in SECONDARY_NOTE
    assert note_of("small", 10) == "under 10: not shown" and note_of("", 10) == ""
    assert "45" not in result.to_csv(index=False) and "7" not in result.to_csv(index=False)


def test_threshold_comes_from_the_catalogue():
    catalogue = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    metrics = {metric["id"]: metric for metric in catalogue["datasets"]["street_sensors"]["metrics"]}
    assert is_disclosive(metrics["footfall"]) == 10
    assert is_disclosive(metrics["noise_db"]) is None
    result = suppress_counts(pd.DataFrame({"footfall": [9, 10]}), "footfall", is_disclosive(metrics["footfall"]))
    assert list(result["footfall_display"]) == ["<10", "10"]


def test_is_disclosive_reads_metric_objects_and_refuses_bad_thresholds():
    assert is_disclosive(SimpleNamespace(id="footfall", disclosure=5)) == 5
    assert is_disclosive(SimpleNamespace(id="noise_db")) is None
    for bad in (0, -3, "10", 2.5, True):
        with pytest.raises(ValueError, match="disclosure threshold"):
            is_disclosive({"id": "footfall", "disclosure": bad})
    with pytest.raises(ValueError, match="threshold"):
        suppress_counts(pd.DataFrame({"n": [1]}), "n", 0)


def test_a_secondary_cell_too_close_to_the_threshold_is_joined_by_another():
    # "<10" and "suppressed" under a total of 11 would give away 1 and 10 (suppressed means 10 or more).
    frame = pd.DataFrame({"area": ["A"] * 4 + ["B"] * 3, "is_total": [False, False, False, True, False, False, True],
                          "count": [1, 10, 30, 41, 1, 10, 11]})
    result = protect_totals(frame, ["area"], "count", 10, total_col="is_total")
    a = result[result["area"].eq("A")]
    assert list(a["count_display"]) == ["<10", "suppressed", "suppressed", "41"]
    # The reader knows 1..9 + two cells of 10 or more = 41: the small one can be anything from 1 to 9.
    b = result[result["area"].eq("B")]
    assert list(b["count_display"]) == ["<10", "suppressed", "suppressed"], "no cell left: the total goes"
