"""The bench's real-browser measurements: the app served by `streamlit run`, driven by Playwright in
Debian's Chromium, on 127.0.0.1 only.

- cold start: process start to the overview's map canvas on screen;
- payload: bytes of the websocket frames the browser receives for each page's load;
- served memory: the server's peak resident memory (VmHWM) after those page loads and changes;
- load test: N concurrent sessions clicking through pages and changing filters for a while.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from citydash.state import SECTION_PARAM, section_slug

REPO_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
MAP_CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'
BOROUGH_INPUT = '[data-testid="stSidebar"] [data-testid="stMultiSelect"] input'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(extracts: Path, log: Path, port: int | None = None) -> Server:
    """`streamlit run dashboard.py` on 127.0.0.1 with the bench's extracts (not yet healthy)."""
    port = port or free_port()
    env = {**os.environ, "CITYDASH_EXTRACTS": str(extracts)}
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_healthy(server: Server, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{server.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The load test's browsers run on the server's own 2 cores, where users' browsers never would; a
# nice value of 10 lets the server have the CPU when it needs it and the browsers the rest.
BROWSER_NICENESS = 10


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from /proc/<pid>/stat."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def browser_pids() -> list[int]:
    """The Chromium processes this process started (through Playwright's driver), not any other
    browser that happens to run on the machine."""
    parents: dict[int, int] = {}
    chromium: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
            command = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except (OSError, IndexError, ValueError):
            continue
        if b"chrom" in command.rsplit(b"/", 1)[-1]:
            chromium.append(int(entry.name))
    ours = os.getpid()

    def descends_from_us(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == ours:
                return True
        return False

    return [pid for pid in chromium if descends_from_us(pid)]


def lower_priority(pids: list[int]) -> None:
    """Renderers fork from a zygote after launch, so this is repeated while the load runs."""
    for pid in pids:
        try:
            if os.getpriority(os.PRIO_PROCESS, pid) < BROWSER_NICENESS:
                os.setpriority(os.PRIO_PROCESS, pid, BROWSER_NICENESS)
        except OSError:
            continue


def total_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, IndexError):
            continue
    return total


def is_deep_link_probe(message) -> bool:
    """Streamlit's front end, opened at /<page>, first asks /<page>/_stcore/health and host-config
    (404) before the root ones: a known, harmless console error of any deep link."""
    url = (message.location or {}).get("url", "")
    return "status of 404" in message.text and "/_stcore/" in url


def console_error(message) -> str | None:
    if message.type != "error" or is_deep_link_probe(message):
        return None
    return message.text


def page_url(base: str, url_path: str, default: bool, section: str | None = None) -> str:
    """A page's address; with a section (its label), the link that opens that section."""
    address = base + "/" if default else f"{base}/{url_path}"
    return f"{address}?{urlencode({SECTION_PARAM: section_slug(section)})}" if section else address


def require_chromium() -> None:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is not installed: the browser measurements need Debian's chromium")


# ---------------------------------------------------------------------------------------------
# Cold start, payload and the served app's memory


def cold_start(extracts: Path, work_dir: Path, runs: int) -> list[dict]:
    """Seconds from starting the server process to the overview's map canvas in the browser."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for run in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 1000})
                page = context.new_page()
                started = time.monotonic()
                server = start_server(extracts, work_dir / f"cold-start-{run}.log")
                try:
                    wait_healthy(server)
                    healthy_s = time.monotonic() - started
                    page.goto(server.url + "/")
                    page.wait_for_selector("h1", timeout=180_000)
                    title_s = time.monotonic() - started
                    page.wait_for_selector(MAP_CANVAS, timeout=180_000)
                    results.append({"healthy_s": healthy_s, "title_s": title_s, "map_s": time.monotonic() - started})
                finally:
                    context.close()
                    server.stop()
        finally:
            browser.close()
    return results


def _settle(page, timeout_ms: int = 180_000) -> None:
    page.wait_for_selector(SETTLED + " h1", timeout=timeout_ms)
    page.wait_for_timeout(400)
    page.wait_for_selector(SETTLED, timeout=timeout_ms)


def _choose_borough(page, name: str) -> None:
    box = page.locator(BOROUGH_INPUT)
    box.click()
    box.fill(name)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def payload_and_memory(extracts: Path, work_dir: Path, pages: list[dict], borough_names: list[str]) -> dict:
    """Websocket bytes per page load, then the served app's memory after filter changes on each page."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    server = start_server(extracts, work_dir / "payload.log")
    per_page = []
    try:
        wait_healthy(server)
        started_kb = memory_kb(server.process.pid)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                for index, spec in enumerate(pages):
                    context = browser.new_context(viewport={"width": 1280, "height": 1000})
                    page = context.new_page()
                    received = {"bytes": 0, "frames": 0}

                    def on_socket(socket_, counter=received):
                        def count(payload):
                            counter["bytes"] += len(payload) if payload else 0
                            counter["frames"] += 1
                        socket_.on("framereceived", count)

                    page.on("websocket", on_socket)
                    console_errors: list[str] = []
                    page.on("console", lambda message, errors=console_errors:
                            errors.append(console_error(message)) if console_error(message) else None)
                    page.goto(page_url(server.url, spec["url_path"], spec["default"], spec.get("section")))
                    _settle(page)
                    if page.query_selector('[data-testid="stDeckGlJsonChart"]'):
                        page.wait_for_selector(MAP_CANVAS, timeout=60_000)
                    page.wait_for_timeout(1000)
                    load_bytes, load_frames = received["bytes"], received["frames"]
                    # A filter change on every page, so the memory figure covers the scripted use.
                    _choose_borough(page, borough_names[index % len(borough_names)])
                    page.wait_for_timeout(300)
                    _settle(page)
                    exceptions = len(page.query_selector_all('[data-testid="stException"]'))
                    per_page.append({"title": spec["title"], "load_bytes": load_bytes, "load_frames": load_frames,
                                     "change_bytes": received["bytes"] - load_bytes,
                                     "exceptions": exceptions, "console_errors": console_errors[:3]})
                    context.close()
            finally:
                browser.close()
        after_kb = memory_kb(server.process.pid)
    finally:
        server.stop()
    return {"pages": per_page, "server_start_kb": started_kb, "server_after_kb": after_kb}


# ---------------------------------------------------------------------------------------------
# Load test


@dataclass
class LoadStats:
    updates: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    actions: int = 0


async def _wait_update(page, timeout_ms: int) -> None:
    """Until the rerun an action started has finished (it may finish before we see it running)."""
    try:
        await page.wait_for_selector(RUNNING, timeout=1500)
    except Exception:  # noqa: BLE001 - a fast rerun is over before it is seen running
        pass
    await page.wait_for_selector(SETTLED, timeout=timeout_ms)


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


async def _session(browser, base: str, pages: list[dict], borough_names: list[str], number: int,
                   deadline: float, stats: LoadStats, abort: threading.Event, think_s: float) -> None:
    """One user: opens the app, then clicks through the pages, picking a borough on each. A failed
    step is counted and the session reloads and goes on, so one slow moment is not the end of it."""
    # Sessions arrive over the first seconds, as people do, not all in the same millisecond.
    await asyncio.sleep(number * 1.5)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_navigation_timeout(180_000)
    context.set_default_timeout(180_000)
    page = await context.new_page()
    page.on("console", lambda message: stats.console_errors.append(f"session {number}: {message.text}")
            if console_error(message) else None)
    step = number
    try:
        await page.goto(page_url(base, pages[0]["url_path"], True), wait_until="commit")
        await page.wait_for_selector(SETTLED + " h1")
        while time.monotonic() < deadline and not abort.is_set():
            spec = pages[step % len(pages)]
            step += 1
            try:
                started = time.monotonic()
                link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{spec["url_path"]}"]')
                if spec["default"] or not await link.count():
                    await page.goto(page_url(base, spec["url_path"], spec["default"]), wait_until="commit")
                else:
                    await link.first.click()
                await _wait_update(page, 180_000)
                stats.updates.append(time.monotonic() - started)
                stats.actions += 1
                await asyncio.sleep(think_s)
                if time.monotonic() >= deadline:
                    break
                started = time.monotonic()
                box = page.locator(BOROUGH_INPUT)
                await box.click()
                await box.fill(borough_names[step % len(borough_names)])
                await page.keyboard.press("Enter")
                await page.keyboard.press("Escape")
                await _wait_update(page, 180_000)
                stats.updates.append(time.monotonic() - started)
                stats.actions += 1
                if await page.query_selector('[data-testid="stException"]'):
                    stats.errors.append(f"session {number}: exception on {spec['title']}")
                await asyncio.sleep(think_s)
            except Exception as error:  # noqa: BLE001 - counted; the session reloads and goes on
                stats.errors.append(f"session {number} on {spec['title']}: {type(error).__name__}: "
                                    f"{str(error).splitlines()[0][:160]}")
                if time.monotonic() < deadline:
                    await page.goto(page_url(base, pages[0]["url_path"], True), wait_until="commit")
                    await page.wait_for_selector(SETTLED + " h1")
    except Exception as error:  # noqa: BLE001 - a session that cannot even open the app is counted
        stats.errors.append(f"session {number}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
    finally:
        await context.close()


async def _load(base: str, pages: list[dict], borough_names: list[str], sessions: int, seconds: float,
                stats: LoadStats, abort: threading.Event | None = None, think_s: float = 0) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        lower_priority(browser_pids())
        try:
            deadline = time.monotonic() + seconds
            abort = abort or threading.Event()
            await asyncio.gather(*(_session(browser, base, pages, borough_names, number, deadline, stats, abort,
                                            think_s) for number in range(sessions)))
        finally:
            await browser.close()


def load_test(extracts: Path, work_dir: Path, pages: list[dict], borough_names: list[str], sessions: int,
              seconds: float, settle_s: float, min_available_mb: float = 4096, think_s: float = 0) -> dict:
    """N concurrent sessions against one served app; the server's memory before, during and after.

    The sessions stop early if the machine's available memory falls below min_available_mb
    (the machine is shared): the result says so."""
    require_chromium()
    work_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(extracts, work_dir / "load.log")
    samples: list[tuple[float, int]] = []
    browsers_cpu_s = [0.0]
    stop = threading.Event()
    abort = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                samples.append((time.monotonic(), memory_kb(server.process.pid)["VmRSS"]))
            except (OSError, KeyError):
                return
            if available_mb() < min_available_mb:
                abort.set()
            browsers = browser_pids()
            lower_priority(browsers)
            # The browsers' CPU time is read while they run: a closed process's can no longer be
            # read, so the largest total seen is the figure.
            browsers_cpu_s[0] = max(browsers_cpu_s[0], total_cpu_seconds(browsers))
            stop.wait(1.0)

    try:
        wait_healthy(server)
        stats = LoadStats()
        # One session first, so the baseline has the app's modules and caches loaded.
        asyncio.run(_load(server.url, pages[:1], borough_names, 1, 1, LoadStats()))
        time.sleep(2)
        baseline_kb = memory_kb(server.process.pid)["VmRSS"]
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        server_cpu_before = cpu_seconds(server.process.pid)
        asyncio.run(_load(server.url, pages, borough_names, sessions, seconds, stats, abort, think_s))
        closed_at = time.monotonic()
        server_cpu = cpu_seconds(server.process.pid) - server_cpu_before
        peak_kb = memory_kb(server.process.pid)["VmHWM"]
        end_kb = memory_kb(server.process.pid)["VmRSS"]
        time.sleep(settle_s)
        settled_kb = memory_kb(server.process.pid)["VmRSS"]
        stop.set()
        sampler.join(timeout=5)
    finally:
        stop.set()
        server.stop()
    updates = sorted(stats.updates)
    return {
        "sessions": sessions, "seconds": closed_at - started, "actions": stats.actions, "think_s": think_s,
        "stopped_for_memory": abort.is_set(),
        "update_p50_s": statistics.median(updates) if updates else None,
        "update_p95_s": updates[max(0, -(-95 * len(updates) // 100) - 1)] if updates else None,
        "errors": stats.errors[:10], "error_count": len(stats.errors),
        "console_errors": stats.console_errors[:10], "console_error_count": len(stats.console_errors),
        "baseline_mb": baseline_kb / 1024, "peak_mb": peak_kb / 1024, "at_close_mb": end_kb / 1024,
        "settled_mb": settled_kb / 1024, "settle_s": settle_s,
        "during_max_mb": max((kb for _, kb in samples), default=0) / 1024,
        "server_cores": server_cpu / (closed_at - started),
        "browser_cores": browsers_cpu_s[0] / (closed_at - started),
        "browser_niceness": BROWSER_NICENESS,
    }
