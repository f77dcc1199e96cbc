"""Filters and page selections in the URL: state -> link -> state, hostile links fall back with a
notice, and a link pinned to a data snapshot says when the data has changed."""

from datetime import date, datetime

import pytest

from citydash.state import (SNAPSHOT_CHANGED, Filters, area_from_param, area_to_param, areas_from_param,
                            areas_to_param, filters_from_params, filters_to_params, merged_params,
                            metric_keys_from_param, metric_keys_to_param, section_from_param, section_to_param,
                            snapshot_notice, snapshot_token)

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


# ---------------------------------------------------------------------------------
# Pages' own selections and the data snapshot in the link

HOSTILE = ["<script>alert(1)</script>", "E09000007'; drop table boroughs; --", "../../etc/passwd",
           "E09000007\nE09000033", "%3Cb%3E", "x" * 5000]


def test_profile_borough_round_trips_through_the_link():
    for code in CODES:
        assert area_from_param(area_to_param(code), CODES, "E09000001") == (code, ())


def test_no_borough_in_the_link_gives_the_default_quietly():
    assert area_from_param(None, CODES, "E09000033") == ("E09000033", ())
    assert area_from_param("  ", CODES, "E09000033") == ("E09000033", ())


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_borough_falls_back_with_a_safe_short_notice(hostile):
    code, notices = area_from_param(hostile, CODES, "E09000033")
    assert code == "E09000033"
    assert len(notices) == 1 and "Ignored unknown area code" in notices[0]
    assert len(notices[0]) < 200 and not any(character in notices[0] for character in "<>;\n%/")


def test_compared_boroughs_round_trip_in_their_order():
    chosen = ("E09000033", "E09000001", "E09000007")
    assert areas_from_param(areas_to_param(chosen), CODES, ("E09000001", "E09000007"), 2, 4) == (chosen, ())


@pytest.mark.parametrize("text, expected, notice", [
    ("E09000007,<script>,E09000033", ("E09000007", "E09000033"), "Ignored unknown area code"),
    ("E09000007", ("E09000001", "E09000007"), "fewer than 2"),
    ("E09000007,E09000007,E09000007", ("E09000001", "E09000007"), "fewer than 2"),
    ("E09000001,E09000007,E09000033,E09000007", ("E09000001", "E09000007", "E09000033"), None),
    (",".join(["E09000001", "E09000007", "E09000033"] * 2), ("E09000001", "E09000007", "E09000033"), None),
])
def test_compared_boroughs_from_a_bad_link(text, expected, notice):
    chosen, notices = areas_from_param(text, CODES, ("E09000001", "E09000007"), 2, 4)
    assert chosen == expected
    assert (notice is None and notices == ()) or any(notice in text for text in notices)


def test_more_than_the_maximum_are_cut_with_a_notice():
    chosen, notices = areas_from_param(",".join(CODES), CODES, (), 2, 2)
    assert chosen == tuple(CODES[:2]) and "only the first 2" in notices[0]


def test_extra_metrics_round_trip_and_unknown_ones_are_dropped():
    assert metric_keys_from_param(metric_keys_to_param(METRICS), METRICS, 8) == (tuple(METRICS), ())
    keys, notices = metric_keys_from_param("stations.entries,air_quality.no2'--,<img src=x>", METRICS, 8)
    assert keys == ("stations.entries",) and "Ignored unknown metric(s)" in notices[0] and "<" not in notices[0]
    assert metric_keys_from_param(None, METRICS, 8) == ((), ())
    assert metric_keys_from_param(metric_keys_to_param(METRICS), METRICS, 1)[0] == (METRICS[0],)


def test_the_whole_link_round_trips_shared_filters_and_page_selections():
    state = Filters(boroughs=("E09000007",), start=date(2026, 3, 1), end=date(2026, 3, 31), metric="stations.entries")
    link = merged_params({"borough": area_to_param("E09000033"), "compare": areas_to_param(["E09000001", "E09000007"])},
                         filters_to_params(state))
    assert from_link(link) == state
    assert area_from_param(link["borough"], CODES, "E09000001") == ("E09000033", ())
    assert areas_from_param(link["compare"], CODES, (), 2, 4) == (("E09000001", "E09000007"), ())


def test_writing_the_shared_filters_keeps_page_selections_and_drops_the_snapshot_read():
    current = {"metric": "old.metric", "boroughs": "E09000001", "borough": "E09000007", "snapshot": "0123456789",
               "compare": "E09000001,E09000033"}
    wanted = merged_params(current, {"metric": "air_quality.no2", "start": "2026-03-01", "end": "2026-03-31"})
    assert wanted == {"metric": "air_quality.no2", "start": "2026-03-01", "end": "2026-03-31",
                      "borough": "E09000007", "compare": "E09000001,E09000033"}


def test_the_snapshot_token_changes_exactly_when_a_refresh_stamp_does():
    stamps = {"air_quality": datetime(2026, 3, 1, 6, 0), "stations": datetime(2026, 2, 1, 6, 0)}
    token = snapshot_token(stamps)
    assert len(token) == 10 and all(character in "0123456789abcdef" for character in token)
    assert snapshot_token(dict(reversed(list(stamps.items())))) == token
    assert snapshot_token({**stamps, "stations": datetime(2026, 3, 2, 6, 0)}) != token
    assert snapshot_token({**stamps, "cycle_hire": datetime(2026, 3, 2, 6, 0)}) != token


def test_opening_a_pinned_link_says_plainly_whether_the_data_changed():
    assert snapshot_notice(None, "0123456789") is None
    assert snapshot_notice("0123456789", "0123456789") is None
    assert snapshot_notice("abcdefabcd", "0123456789") == SNAPSHOT_CHANGED
    assert "refreshed since this link was made; figures may differ" in SNAPSHOT_CHANGED
    hostile = snapshot_notice("<script>x</script>", "0123456789")
    assert "Ignored the data snapshot" in hostile and "<" not in hostile


SECTIONS = ["Stations", "Cycle hire", "Road traffic", "By borough"]


@pytest.mark.parametrize("label", SECTIONS)
def test_every_section_round_trips_through_its_link(label):
    assert section_from_param(section_to_param(label, SECTIONS) or None, SECTIONS) == (label, ())


def test_the_first_section_is_the_default_and_its_link_names_none():
    assert section_to_param("Stations", SECTIONS) == ""
    assert section_to_param("Cycle hire", SECTIONS) == "cycle-hire"
    assert section_from_param(None, SECTIONS) == ("Stations", ())
    assert section_from_param("  ", SECTIONS) == ("Stations", ())
    assert section_from_param(" Cycle-Hire ", SECTIONS) == ("Cycle hire", ())
    assert section_from_param("cycle hire", SECTIONS) == ("Cycle hire", ())


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "trams", "x" * 5000, "stations\n**bold**"])
def test_an_unknown_section_opens_the_first_with_a_notice_that_does_not_repeat_the_link(hostile):
    label, notices = section_from_param(hostile, SECTIONS)
    assert label == "Stations"
    assert len(notices) == 1 and "Stations, Cycle hire, Road traffic, By borough" in notices[0]
    assert hostile.strip() not in notices[0]
