"""Officer-only datasets exist for officers only: in pages, queries, caches and links."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from citydash import ui
from conftest import PACK, REPO

ENTRY = REPO / "tests" / "apptest" / "entry.py"
OFFICER_SECRETS = {"citydash": {"access": {"officer_emails": ["ana@council.gov.uk"]}}}
OFFICER = {"is_logged_in": True, "email": "ana@council.gov.uk", "email_verified": True}


@pytest.fixture
def restricted_pack(tmp_path, demo_extracts, monkeypatch):
    """The London pack with the street sensors made officer-only."""
    pack = tmp_path / "pack"
    (pack / "boundaries").mkdir(parents=True)
    shutil.copy(PACK / "boundaries" / "london_boroughs.geojson", pack / "boundaries")
    catalog = (PACK / "catalog.toml").read_text(encoding="utf-8")
    start = catalog.index("[datasets.street_sensors]")
    restricted = catalog[:start] + catalog[start:].replace('access = "public"', 'access = "officer"', 1)
    (pack / "catalog.toml").write_text(restricted, encoding="utf-8")
    monkeypatch.setenv("CITYDASH_PACK", str(pack))
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    return pack


def metric_options(app: AppTest) -> list[str]:
    return list(app.sidebar.selectbox(key="filters_metric").options)


def test_a_public_session_never_sees_officer_datasets(restricted_pack):
    app = AppTest.from_file(str(ENTRY), default_timeout=60)
    app.query_params["metric"] = "street_sensors.noise_db"
    app.run()
    assert not app.exception
    assert not any("Noise" in option or "Footfall" in option for option in metric_options(app))
    assert any("Ignored unknown metric" in info.value for info in app.info)
    assert app.query_params["metric"] != ["street_sensors.noise_db"]
    assert "street sensors" not in " ".join(str(m.value) for m in app.markdown).lower()
    assert any("Officer sign-in is not configured" in caption.value for caption in app.caption)


def test_an_officer_sees_them(restricted_pack):
    app = AppTest.from_file(str(ENTRY), default_timeout=60)
    app.secrets = OFFICER_SECRETS
    app.user = OFFICER
    app.query_params["metric"] = "street_sensors.noise_db"
    app.run()
    assert not app.exception
    assert any("Noise" in option for option in metric_options(app))
    assert not any("Ignored unknown metric" in info.value for info in app.info)


def test_a_logged_in_stranger_is_public(restricted_pack):
    app = AppTest.from_file(str(ENTRY), default_timeout=60)
    app.secrets = OFFICER_SECRETS
    app.user = {"is_logged_in": True, "email": "visitor@example.org"}
    app.run()
    assert not any("Noise" in option for option in metric_options(app))


def test_cached_results_never_cross_from_officer_to_public(restricted_pack, demo_extracts):
    config = ui.Settings(pack_dir=str(restricted_pack), extracts_dir=str(demo_extracts), query_timeout_s=10)
    params = (("aggregation", "mean"), ("area_aggregation", "mean"), ("dataset", "street_sensors"),
              ("end", date(2025, 12, 15)), ("metric", "noise_db"), ("start", date(2025, 11, 1)))
    officer_call = (config, (), "officer", "metric_by_borough", params)
    public_call = (config, (), "public", "metric_by_borough", params)
    officer = ui._cached_run(ui._call_key(officer_call), officer_call)
    public = ui._cached_run(ui._call_key(public_call), public_call)
    assert officer["value"].notna().any()
    assert public["value"].isna().all()
