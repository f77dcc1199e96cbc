"""Shared fixtures: tiny city packs written from literal rows, a small demo pack, and the app
served for real-browser tests (Playwright driving Debian's Chromium).

Everything runs on real DuckDB over real parquet files in temporary folders. This is the one
conftest: test modules import its helpers as `from conftest import ...`, which is only
unambiguous while no other conftest.py exists under tests/.

Without /usr/bin/chromium the browser tests skip with a reason, except when
CITYDASH_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from citydash import demo
from citydash.catalog import Catalog, load_catalog
from citydash.contract import Extract
from citydash.data import Database
from citydash.ingest.publish import publish

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "data"
SHARED_LONDON = REPO.parent / "shared" / "data" / "london"
BOUNDARIES = PACK / "boundaries" / "london_boroughs.geojson"

# Points well inside three boroughs (checked against the shipped polygons by test_boundaries).
CAMDEN = (51.5390, -0.1426)       # E09000007
BROMLEY = (51.3700, 0.0500)       # E09000006
WESTMINSTER = (51.5120, -0.1400)  # E09000033
PARIS = (48.8566, 2.3522)

TINY_CATALOG = """
[city]
id = "testville"
name = "Testville"
timezone = "Europe/London"
area_label = "borough"
area_label_plural = "boroughs"
boundaries = "{boundaries}"
boundaries_attribution = "Test boundaries."
map_view = {{ latitude = 51.49, longitude = -0.11, zoom = 8.7 }}

[licences]
ogl3 = {{ title = "Open Government Licence v3.0", url = "https://example.org/ogl" }}

[datasets.air]
title = "Test air"
domain = "environment"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."
access = "public"
synthetic = false

[[datasets.air.metrics]]
id = "no2"
label = "NO2"
unit = "µg/m³"
aggregation = "mean"
better = "lower"
valid_range = [0, 1000]

[datasets.counts]
title = "Test counts"
domain = "transport"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."
access = "officer"
synthetic = true

[[datasets.counts.metrics]]
id = "entries"
label = "Entries"
unit = "people"
aggregation = "sum"
better = "higher"
valid_range = [0, 100000]

[[datasets.counts.metrics]]
id = "capacity"
label = "Capacity"
unit = "docks"
aggregation = "max"
area_aggregation = "sum"
better = "higher"
"""


def make_tiny_pack(folder: Path) -> Catalog:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "catalog.toml").write_text(TINY_CATALOG.format(boundaries=BOUNDARIES), encoding="utf-8")
    return load_catalog(folder)


def section_opener(page: str):
    """For AppTest: open one of a page's sections (ui.sections, key "<page>_section") as a click on
    its tab does, and check the rerun raised nothing."""
    def open_section(app, label: str):
        app.session_state[f"{page}_section"] = label
        app.run()
        assert not app.exception, (label, [exception.value for exception in app.exception])
        return app
    return open_section


def entities(*rows: tuple) -> pd.DataFrame:
    """Entities from literal (entity_id, name, kind, (lat, lon)) rows."""
    return pd.DataFrame([{"entity_id": entity_id, "name": name, "kind": kind, "lat": point[0], "lon": point[1],
                          "borough_code": None} for entity_id, name, kind, point in rows])


def observations(*rows: tuple) -> pd.DataFrame:
    """Observations from literal (entity_id, "YYYY-MM-DD HH:MM", metric, value) rows."""
    return pd.DataFrame([{"entity_id": entity_id, "ts": pd.Timestamp(ts), "metric": metric, "value": float(value)}
                         for entity_id, ts, metric, value in rows]).astype({"ts": "datetime64[us]"})


class BothWaysDatabase(Database):
    """A Database whose every query also runs over every dataset's tables, not only its $dataset's
    (Database.cursor), and fails the test if the two answers differ: the query tests on literal
    rows check, on their rows, that narrowing a query to its dataset changes nothing."""

    def run(self, query: str, access: str = "public", **params) -> pd.DataFrame:
        narrowed = super().run(query, access, **params)
        self.narrow_to_dataset = False
        try:
            wide = super().run(query, access, **params)
        finally:
            self.narrow_to_dataset = True
        pd.testing.assert_frame_equal(narrowed, wide, obj=f"{query} narrowed to its dataset")
        return narrowed


@pytest.fixture
def tiny_pack(tmp_path) -> Catalog:
    return make_tiny_pack(tmp_path / "pack")


@pytest.fixture
def published(tiny_pack):
    """A function that publishes literal rows into the tiny pack and returns a fresh Database."""
    opened: list[Database] = []

    def publish_rows(dataset: str, entity_rows: pd.DataFrame, observation_rows: pd.DataFrame,
                     others: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> Database:
        publish(Extract(entity_rows, observation_rows), dataset, tiny_pack, replace=True,
                now=datetime(2026, 3, 10, 12, 0))
        for other, (other_entities, other_observations) in (others or {}).items():
            publish(Extract(other_entities, other_observations), other, tiny_pack, replace=True,
                    now=datetime(2026, 3, 10, 12, 0))
        database = BothWaysDatabase(tiny_pack)
        opened.append(database)
        return database

    yield publish_rows
    for database in opened:
        database.close()


DEMO_SCALE = 0.25
DEMO_DAYS = 45


@pytest.fixture(scope="session")
def demo_extracts(tmp_path_factory) -> Path:
    """A small but complete demo pack's extracts, generated once per test session."""
    out = tmp_path_factory.mktemp("demo") / "extracts"
    catalog = load_catalog(PACK, extracts_dir=out)
    for dataset_id in demo.DEMO_DATASETS:
        extract = demo.generate(catalog, dataset_id, seed=7, scale=DEMO_SCALE, days=DEMO_DAYS)
        publish(extract, dataset_id, catalog, replace=True)
    return out


# Text that runs script, draws an image, makes a link or formats text wherever data is shown unescaped
# as HTML or markdown (issue 10).
HOSTILE_TEXTS = ("<img src=x onerror=alert(1)>", "<script>window.__pwned=1</script>",
                 "[click](javascript:alert(1))", "**bold**", "$x$")


def hostile_name(index: int, label: str) -> str:
    """All the hostile texts, rotated by index so that each leads some names (where a string starts
    matters to markdown), then a plain tag so the names stay distinct."""
    shift = index % len(HOSTILE_TEXTS)
    return " ".join(HOSTILE_TEXTS[shift:] + HOSTILE_TEXTS[:shift]) + f" {label} {index + 1}"


def write_hostile_extracts(out: Path) -> Path:
    """A small demo pack's extracts (30 days) in which every entity of every dataset (monitoring
    sites, stations, docks, count points, sensors) has a hostile name, so whichever entity a page
    names, it names a hostile one."""
    catalog = load_catalog(PACK, extracts_dir=out)
    for dataset_id in demo.DEMO_DATASETS:
        extract = demo.generate(catalog, dataset_id, seed=7, scale=DEMO_SCALE, days=30)
        extract.entities = extract.entities.assign(
            name=[hostile_name(index, dataset_id) for index in range(len(extract.entities))])
        publish(extract, dataset_id, catalog, replace=True)
    return out


@pytest.fixture(scope="session")
def demo_catalog(demo_extracts) -> Catalog:
    return load_catalog(PACK, extracts_dir=demo_extracts)


@pytest.fixture(scope="session")
def demo_database(demo_catalog):
    database = BothWaysDatabase(demo_catalog)
    yield database
    database.close()


@pytest.fixture
def copy_of_demo(demo_extracts, tmp_path) -> Path:
    """A writable copy of the demo extracts, for tests that break or change them."""
    target = tmp_path / "extracts"
    shutil.copytree(demo_extracts, target)
    return target


def require_shared() -> Path:
    if not SHARED_LONDON.is_dir():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    return SHARED_LONDON


# ---------------------------------------------------------------------------------
# Real-browser fixtures

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def served_app(demo_extracts, tmp_path_factory):
    """The URL of the app served on a free local port with the small demo pack."""
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "CITYDASH_EXTRACTS": str(demo_extracts)}
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not installed: browser tests need Debian's chromium package"
        if os.environ.get("CITYDASH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class PageWatch:
    """A page plus what it logged and every request it made outside the local server."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []
        page.on("console", lambda message: self.console_errors.append(message.text)
                if message.type == "error" else None)
        page.on("request", lambda request: self.external_requests.append(request.url)
                if not request.url.startswith((base_url, "data:", "blob:")) else None)


@pytest.fixture
def page(browser, served_app):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    watched = PageWatch(context.new_page(), served_app)
    yield watched
    context.close()


# The script has finished and no element is still a loading placeholder or faded as stale.
APP_SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stSkeleton"]') && !document.querySelector('[data-stale="true"]');
}"""


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Until the script has run to the end and the page has settled."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"] h1', timeout=timeout_ms)
    page.wait_for_timeout(500)
    page.wait_for_function(APP_SETTLED, timeout=timeout_ms, polling=250)


def distinct_colours(png: bytes) -> int:
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((120, 120))
    return len(set(image.get_flattened_data()))


def save_artifact(name: str, content: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(content)
    return path


# ---------------------------------------------------------------------------------
# Connector results


def assert_extract_contract(extract, metrics: set[str]) -> None:
    """What every connector's Extract must be: contract columns and types, no NaN values, entities
    unique and still without a borough (publish assigns it), observations only of known entities
    and of the given metric ids."""
    from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS
    assert list(extract.entities.columns) == list(ENTITY_COLUMNS)
    assert list(extract.observations.columns) == list(OBSERVATION_COLUMNS)
    assert list(extract.rejects.columns) == list(REJECT_COLUMNS)
    assert str(extract.observations["ts"].dtype) == "datetime64[us]"
    assert extract.observations["value"].dtype == "float64"
    assert not extract.observations["value"].isna().any()
    assert extract.entities["lat"].dtype == "float64"
    assert extract.entities["lon"].dtype == "float64"
    assert extract.entities["borough_code"].isna().all()
    assert extract.entities["entity_id"].is_unique
    assert set(extract.observations["entity_id"]) <= set(extract.entities["entity_id"])
    assert set(extract.observations["metric"]) <= metrics
