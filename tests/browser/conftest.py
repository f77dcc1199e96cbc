"""Real-browser fixtures: the app served by `streamlit run` on a free port, driven by Playwright
in Debian's Chromium. Without /usr/bin/chromium the browser tests skip with a reason, except
when CITYDASH_REQUIRE_BROWSER=1 (set by .ci/run), where they fail."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
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


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Until the script has run to the end and the page has settled."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"] h1', timeout=timeout_ms)
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)


def distinct_colours(png: bytes) -> int:
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((120, 120))
    return len(set(image.get_flattened_data()))


def save_artifact(name: str, content: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(content)
    return path
