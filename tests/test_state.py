"""Filters in the URL: state -> link -> state, and hostile links fall back with a notice."""

from datetime import date

import pytest

from citydash.state import Filters, filters_from_params, filters_to_params

METRICS = ["air_quality.no2", "stations.entries"]
CODES = ["E09000001", "E09000007", "E09000033"]
FIRST, LAST = date(2025, 11, 1), date(2026, 10, 31)


def from_link(params):
    return filters_from_params(params, METRICS, CODES, FIRST, LAST)


def test_round_trip_reproduces_the_view():
    state = Filters(boroughs=("E09000007", "E09000033"), start=date(2026, 3, 1), end=date(2026, 3, 31),
                    metric="stations.entries")
    again = from_link(filters_to_params(state))
    assert again == state
    assert again.notices == ()


def test_no_link_gives_the_latest_ninety_days_of_everything():
    state = from_link({})
    assert state.boroughs == () and state.metric == METRICS[0]
    assert (state.start, state.end) == (date(2026, 8, 3), LAST)
    assert (state.end - state.start).days + 1 == 90


@pytest.mark.parametrize("params, fallback, notice", [
    ({"boroughs": "E09000007,<script>alert(1)</script>"}, ("E09000007",), "unknown area code"),
    ({"metric": "air_quality.no2'; drop table x; --"}, None, "unknown metric"),
    ({"start": "2026-13-45", "end": "2026-03-01"}, None, "two ISO dates"),
    ({"start": "2026-03-10", "end": "2026-03-01"}, None, "start first"),
    ({"start": "1990-01-01", "end": "1990-02-01"}, None, "outside the data"),
])
def test_hostile_or_invalid_values_fall_back_with_a_short_notice(params, fallback, notice):
    state = from_link(params)
    default = from_link({})
    assert any(notice in text for text in state.notices)
    if fallback is not None:
        assert state.boroughs == fallback
    else:
        assert (state.metric, state.start, state.end) == (default.metric, default.start, default.end)
    assert all(len(text) < 300 and "<" not in text and ">" not in text for text in state.notices)


def test_dates_beyond_the_data_are_clipped_and_said():
    state = from_link({"start": "2025-01-01", "end": "2026-01-31"})
    assert (state.start, state.end) == (FIRST, date(2026, 1, 31))
    assert any("limited to the data" in text for text in state.notices)


def test_very_long_values_are_cut_before_parsing():
    state = from_link({"boroughs": ",".join(["E09000007"] * 10_000)})
    assert state.boroughs == ("E09000007",)
