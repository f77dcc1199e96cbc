"""`python -m citydash bench`: speed and memory of the dashboard at given data scales.

For each scale (observations in all demo datasets together, e.g. 2M, 20M, 200M) it builds the
demo data once into bench-cache/ (generated in tiles, validated and merged by DuckDB, so 200M
rows never sit in pandas), then measures, each thing in a process of its own:

- every page registered in dashboard.py (found at run time) under AppTest: the rerun after each
  of a scripted series of filter changes, first missing st.cache_data, then from the cache;
- every query those pages ran: through our layer, straight on DuckDB, and without the rollups;
- the overview's interactions through citydash.data and the common pandas way, time and memory;
- in Chromium against `streamlit run`: cold start, websocket bytes per page, served memory;
- with --load: concurrent browser sessions clicking through pages for a while.

It prints a table per scale and which targets are met; the figures also go to
bench-cache/results/<scale>.json. Timings are medians of repeated runs: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from citydash.bench_tasks import FilterState, filter_script, percentile

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_DIR / "bench-cache"
# Observations of all demo datasets together per unit of `demo --scale` over 365 days.
OBSERVATIONS_PER_SCALE = 9.3e6
# Bump when the demo generator or the extract layout changes, so cached data is rebuilt.
DATA_VERSION = 8  # 4: the sensor-health rollups (sensor_slot_daily, series_run_daily); 5: sensor_hourly;
# 6: sensor_threshold_daily; 7: entity_monthly; 8: entity_weekly
UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}

TARGETS_MS = {20_000_000: 150, 200_000_000: 300}
COLD_START_TARGET_S = 5.0
MEMORY_TARGET_MB = 1024
MAP_BYTES_TARGET = 2 * 1024 * 1024
PANDAS_RATIO_TARGET = 10

# The pandas comparison keeps the overview's first 12 changes, the series all its figures since
# 25 Nov were taken on: the metric changes stay on air quality, the largest dataset, then stations.
# A longer series reaches the small transport and sensor datasets, where pandas is quick too: with
# 36 changes the median interaction was 2.4x slower kept by st.cache_data, not 12-15x (memory
# ratios unchanged), so the ratio depends on which datasets the series visits.
COMPARISON_STEPS = 12


def parse_scale(text: str) -> int:
    """'2M' -> 2_000_000; '500k', '1.5M' and plain numbers too."""
    cleaned = text.strip().lower().replace("_", "")
    unit = cleaned[-1] if cleaned and cleaned[-1] in UNITS else ""
    try:
        number = float(cleaned[:-1] if unit else cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale {text!r} is not a number of observations such as 2M or 20M")
    if number <= 0:
        raise argparse.ArgumentTypeError(f"scale {text!r} must be positive")
    return int(number * UNITS[unit])


def scale_label(observations: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if observations >= size:
            return f"{observations / size:g}{unit}"
    return str(observations)


# ---------------------------------------------------------------------------------------------
# Data


def ensure_data(observations: int, cache_dir: Path, seed: int, days: int, log=print) -> tuple[Path, dict]:
    """The demo extracts for a scale, built once and reused (bench-cache/ is git-ignored)."""
    from citydash import demo
    from citydash.catalog import load_catalog
    from citydash.ingest.publish import publish_parts

    folder = cache_dir / f"data-{scale_label(observations)}-seed{seed}-days{days}-v{DATA_VERSION}"
    extracts = folder / "extracts"
    done = folder / "built.json"
    if done.is_file():
        return extracts, json.loads(done.read_text())
    demo_scale = observations / OBSERVATIONS_PER_SCALE * 365 / days
    log(f"Building {scale_label(observations)} observations of demo data (demo scale {demo_scale:.2f}) "
        f"in {extracts} ...")
    catalog = load_catalog(REPO_DIR / "data", extracts_dir=extracts)
    started = time.perf_counter()
    published = {}
    for dataset_id in demo.DEMO_DATASETS:
        parts = demo.generate_parts(catalog, dataset_id, seed=seed, scale=demo_scale, days=days, part_scale=1.0)
        report = publish_parts(parts, dataset_id, catalog)
        published[dataset_id] = report.observations_published
        log(f"  {dataset_id}: {report.observations_published:,} observations, "
            f"{report.entities_published:,} entities ({time.perf_counter() - started:.0f} s)")
    facts = {"observations": sum(published.values()), "datasets": published, "demo_scale": demo_scale,
             "build_s": time.perf_counter() - started,
             "bytes": sum(path.stat().st_size for path in extracts.glob("*.parquet"))}
    done.write_text(json.dumps(facts, indent=2))
    return extracts, facts


# ---------------------------------------------------------------------------------------------
# Running a measurement in its own process


def run_task(task: str, settings: dict, work_dir: Path, timeout_s: float) -> tuple[dict, float, float]:
    """(result, peak resident MB of the process from os.wait4, wall seconds)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    settings_path = work_dir / f"{task}.in.json"
    out_path = work_dir / f"{task}.out.json"
    out_path.unlink(missing_ok=True)
    settings_path.write_text(json.dumps(settings, default=str))
    log_path = work_dir / f"{task}.log"
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "citydash.bench_tasks", task, str(settings_path),
                                    str(out_path)], cwd=REPO_DIR, stdout=log, stderr=subprocess.STDOUT)
    timer = threading.Timer(timeout_s, process.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    wall_s = time.perf_counter() - started
    if process.returncode != 0 or not out_path.is_file():
        tail = "\n".join(line for line in log_path.read_text().splitlines() if "WARNING" not in line)[-2000:]
        raise RuntimeError(f"bench task {task!r} failed (exit {process.returncode}, log {log_path}):\n{tail}")
    result = json.loads(out_path.read_text())
    # The task's own VmHWM; wait4's ru_maxrss only as a fallback (it can include the parent's size).
    peak_mb = result.get("vm_hwm_kb", usage.ru_maxrss) / 1024
    return result, peak_mb, wall_s


# ---------------------------------------------------------------------------------------------
# Tables


def table(headers: list[str], rows: list[list], title: str) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(header), *(len(row[index]) for row in cells)) if cells else len(header)
              for index, header in enumerate(headers)]
    lines = [title, "  ".join(header.ljust(width) for header, width in zip(headers, widths)),
             "  ".join("-" * width for width in widths)]
    lines += ["  ".join(cell.rjust(width) if index else cell.ljust(width)
                        for index, (cell, width) in enumerate(zip(row, widths))) for row in cells]
    return "\n".join(lines)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def page_rows(app: dict) -> tuple[list[list], list[dict]]:
    rows, summaries = [], []
    for page in app["pages"]:
        missed = [rerun["seconds"] for rerun in page["reruns"] if rerun["queries"] > 0]
        missed_cpu = [rerun["cpu_seconds"] for rerun in page["reruns"] if rerun["queries"] > 0]
        missed_queries = [rerun["query_seconds"] for rerun in page["reruns"] if rerun["queries"] > 0]
        cached = [rerun["seconds"] for rerun in page["reruns"] if rerun["queries"] == 0]
        all_reruns = [rerun["seconds"] for rerun in page["reruns"] if not rerun["cached_pass"]]
        summary = {"title": page["title"], "first_render_s": page["first_render_s"],
                   "miss_p50_s": statistics.median(missed) if missed else None,
                   "miss_p95_s": percentile(missed, 0.95), "misses": len(missed),
                   "miss_max_s": max(missed) if missed else None,
                   "miss_cpu_p50_s": statistics.median(missed_cpu) if missed_cpu else None,
                   "miss_queries_p50_s": statistics.median(missed_queries) if missed_queries else None,
                   "cached_p50_s": statistics.median(cached) if cached else None,
                   "cached_p95_s": percentile(cached, 0.95), "cached": len(cached),
                   "first_pass_p95_s": percentile(all_reruns, 0.95),
                   "map_bytes": page["map_bytes"], "errors": page["errors"]}
        summaries.append(summary)
        rows.append([page["title"], ms(page["first_render_s"]), len(missed), ms(summary["miss_p50_s"]),
                     ms(summary["miss_p95_s"]), ms(summary["miss_max_s"]), ms(summary["miss_cpu_p50_s"]),
                     ms(summary["miss_queries_p50_s"]),
                     len(cached), ms(summary["cached_p50_s"]),
                     ms(summary["cached_p95_s"]), f"{page['map_bytes'] / 1024:,.0f}",
                     "; ".join(page["errors"])[:60] or "none"])
    return rows, summaries


def query_rows(queries: dict) -> list[list]:
    rows = []
    for entry in sorted(queries["queries"], key=lambda item: -(item["ours_s"] or 0)):
        overhead = None if entry["ours_s"] is None or entry["direct_s"] is None else \
            entry["ours_s"] - entry["direct_s"]
        gain = "-" if not entry["raw_s"] or not entry["direct_s"] else f"{entry['raw_s'] / entry['direct_s']:,.1f}x"
        rows.append([entry["query"], entry["calls"], f"{entry['rows'] or 0:,.0f}", ms(entry["ours_s"]),
                     ms(entry["direct_s"]), ms(overhead), ms(entry["raw_s"]), gain,
                     "; ".join(entry["errors"])[:50] or ""])
    return rows


# ---------------------------------------------------------------------------------------------
# One scale


# The 1-minute load average the bench waits for before measuring (see wait_for_quiet).
QUIET_LOAD = 1.0


def wait_for_quiet(limit_s: float, quiet: float = QUIET_LOAD, poll_s: float = 5.0, load=os.getloadavg,
                   sleep=time.sleep) -> float:
    """Seconds waited, at most `limit_s`, for the 1-minute load average to fall to `quiet`. Building
    the data keeps both cores busy, and the average takes about a minute and a half to fall from 4
    to 1: a run measured straight after a build had every rerun stretched by the build's tail."""
    waited = 0.0
    while waited < limit_s and load()[0] > quiet:
        step = min(poll_s, limit_s - waited)
        sleep(step)
        waited += step
    return waited


def measure_scale(observations: int, args: argparse.Namespace, log=print) -> dict:
    extracts, facts = ensure_data(observations, args.cache_dir, args.seed, args.days, log=log)
    label = scale_label(observations)
    work = args.cache_dir / "runs" / label
    load_now = os.getloadavg()[0]
    if args.settle > 0 and load_now > QUIET_LOAD:
        log(f"[{label}] waiting up to {args.settle:.0f} s for the load average ({load_now:.1f}) to fall "
            f"to {QUIET_LOAD:g} ...")
    settled_s = wait_for_quiet(args.settle)
    results: dict = {"scale": label, "data": facts, "load_average_before": os.getloadavg(), "settled_s": settled_s}
    log(f"[{label}] pages under AppTest ({args.steps} filter changes per page, then the same from the cache) ...")
    app, app_peak_mb, app_wall = run_task("app", {
        "extracts": str(extracts), "steps": args.steps, "calls_out": str(work / "calls.pkl"),
        "apptest_timeout_s": args.query_timeout, "query_timeout_s": args.query_timeout}, work,
        timeout_s=max(1800, args.query_timeout * 20))
    results["app"] = app
    results["app_peak_mb"] = app_peak_mb
    log(f"[{label}] each query three ways ...")
    queries, _, _ = run_task("queries", {
        "extracts": str(extracts), "calls_in": str(work / "calls.pkl"), "repeats": args.repeats,
        # Without rollups a query scans the raw observations: two calls once each tell enough.
        "raw_repeats": 1, "max_calls_per_query": 5, "raw_calls_per_query": args.raw_calls,
        "timeout_s": args.query_timeout}, work, timeout_s=7200)
    results["queries"] = queries

    codes, metrics = app["codes"], app["metrics"]
    first_day, last_day = (date.fromisoformat(day) for day in app["coverage"])
    initial = FilterState((), first_day, last_day, app["initial_metric"])
    states = [state for _, _, state in filter_script(initial, codes, metrics, first_day, last_day,
                                                      COMPARISON_STEPS, offset=0)]
    state_settings = [{"boroughs": list(state.boroughs), "start": state.start.isoformat(),
                       "end": state.end.isoformat(), "metric": state.metric} for state in states]
    comparison = {}
    for way in ("ours", "pandas_cache_data", "pandas") if args.ratio_runs > 0 else ():
        runs = []
        for _ in range(args.ratio_runs):
            log(f"[{label}] the overview's interactions, {way} ...")
            result, peak_mb, _ = run_task(way, {"extracts": str(extracts), "states": state_settings}, work,
                                          timeout_s=3600)
            runs.append({"interaction_s": statistics.median(result["interaction_s"]), "load_s": result["load_s"],
                         "peak_mb": peak_mb, "imports_mb": result["imports_kb"] / 1024})
        comparison[way] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    if comparison:
        results["comparison"] = comparison

    if not args.skip_browser:
        from citydash import bench_browser

        log(f"[{label}] cold starts in Chromium ...")
        results["cold_start"] = bench_browser.cold_start(extracts, work, args.cold_starts)
        log(f"[{label}] websocket bytes per page and the served app's memory ...")
        results["served"] = bench_browser.payload_and_memory(extracts, work, app["pages"], app["borough_names"])
    results["load_average_after"] = os.getloadavg()
    return results


WAYS = {
    "ours": "citydash.data (DuckDB over rollups)",
    "pandas_cache_data": "pandas kept by st.cache_data (a copy per call)",
    "pandas": "pandas held in memory (as st.cache_resource)",
}


def settled_note(settled_s: float) -> str:
    return f" (after waiting {settled_s:.0f} s for it to fall)" if settled_s > 0 else ""


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def report(results: dict) -> tuple[str, list[tuple[str, str, bool | None]]]:
    """The tables of one scale, and (target, figure, met) rows."""
    label = results["scale"]
    observations = results["data"]["observations"]
    lines = [f"\n=== {label}: {observations:,} observations in {len(results['data']['datasets'])} datasets, "
             f"{results['data']['bytes'] / 1e6:,.0f} MB of parquet (built in {results['data']['build_s']:.0f} s) ===",
             f"Machine: {os.cpu_count()} cores; load average {results['load_average_before'][0]:.1f} before"
             f"{settled_note(results.get('settled_s', 0.0))} and "
             f"{results.get('load_average_after', results['load_average_before'])[0]:.1f} after this scale's "
             "measurements (above the core count, wall times stretch: the CPU column is less sensitive)."]
    rows, pages = page_rows(results["app"])
    lines.append(table(["page", "first ms", "misses", "p50 ms", "p95 ms", "max ms", "CPU p50", "queries p50",
                        "cached", "p50 ms", "p95 ms", "map KB", "errors"], rows,
                       "\nPage rerun after a filter change (AppTest, server side: all queries + figures). 'misses' "
                       "ran at least one query (CPU: process CPU time of the rerun; queries: time in DuckDB), "
                       "'cached' ran none. p95 is nearest-rank: with fewer than 20 reruns it is the slowest one."))
    lines.append(f"AppTest process peak memory (VmHWM): {mb(results['app_peak_mb'])} MB")
    lines.append(table(["query", "calls", "rows", "ours ms", "DuckDB ms", "layer ms", "no rollups ms", "rollup gain",
                        "errors"], query_rows(results["queries"]),
                       "\nQueries (median per call): through citydash.data (DataFrame), straight on DuckDB (Arrow), "
                       "and with the rollups derived from the raw observations"))
    ratios: dict[str, tuple[float | None, float | None, float | None]] = {}
    if "comparison" in results:
        ours = results["comparison"]["ours"]
        rows = [[WAYS["ours"], ms(ours["interaction_s"]), f"{ours['load_s']:.1f}", mb(ours["peak_mb"]),
                 mb(ours["peak_mb"] - ours["imports_mb"]), "", "", ""]]
        for way in ("pandas_cache_data", "pandas"):
            if way not in results["comparison"]:
                continue
            theirs = results["comparison"][way]
            ratios[way] = (
                theirs["interaction_s"] / ours["interaction_s"] if ours["interaction_s"] else None,
                theirs["peak_mb"] / ours["peak_mb"] if ours["peak_mb"] else None,
                _ratio(theirs["peak_mb"] - theirs["imports_mb"], ours["peak_mb"] - ours["imports_mb"]))
            rows.append([WAYS[way], ms(theirs["interaction_s"]), f"{theirs['load_s']:.1f}", mb(theirs["peak_mb"]),
                         mb(theirs["peak_mb"] - theirs["imports_mb"]),
                         *(f"{ratio:,.1f}x" if ratio else "-" for ratio in ratios[way])])
        lines.append(table(["way", "per interaction ms", "load s", "peak MB", "above imports MB", "slower",
                            "more memory", "more above imports"], rows,
                           "\nThe overview's interactions, each way in its own process (median of runs); ratios "
                           "are that way against ours. 'above imports': peak less the process's size once its "
                           "libraries were imported (pandas alone is ~140 MB, which both ways carry)"))
    targets: list[tuple[str, str, bool | None]] = []
    limit_ms = TARGETS_MS.get(observations_bucket(observations))
    worst = max((page["miss_p95_s"] or 0 for page in pages), default=0)
    worst_page = max(pages, key=lambda page: page["miss_p95_s"] or 0)["title"] if pages else "-"
    slowest = max((page["miss_max_s"] or 0 for page in pages), default=0)
    fewest = min((page["misses"] for page in pages if page["misses"]), default=0)
    if limit_ms:
        targets.append((f"every page's rerun p95 < {limit_ms} ms",
                        f"worst {ms(worst)} ms ({worst_page}); slowest single rerun {ms(slowest)} ms; "
                        f"at least {fewest} reruns a page", worst * 1000 < limit_ms))
    if observation_bucket_is(observations, 20_000_000):
        for way, (time_ratio, memory_ratio, working_ratio) in ratios.items():
            name = WAYS[way].split(" (")[0]
            for what, ratio in ((f"{PANDAS_RATIO_TARGET}x slower", time_ratio),
                                (f"{PANDAS_RATIO_TARGET}x more memory (peak)", memory_ratio),
                                (f"{PANDAS_RATIO_TARGET}x more memory (above imports)", working_ratio)):
                if ratio:
                    targets.append((f"{name} >= {what}", f"{ratio:,.1f}x", ratio >= PANDAS_RATIO_TARGET))
    worst_map = max(pages, key=lambda page: page["map_bytes"]) if pages else None
    if worst_map:
        targets.append(("no page sends more than 2 MB for its maps",
                        f"largest {worst_map['map_bytes'] / 1024:,.0f} KB ({worst_map['title']})",
                        worst_map["map_bytes"] <= MAP_BYTES_TARGET))
    if "cold_start" in results:
        starts = [run["map_s"] for run in results["cold_start"]]
        healthy = [run["healthy_s"] for run in results["cold_start"]]
        titles = [run.get("title_s", run["map_s"]) for run in results["cold_start"]]
        median_start = statistics.median(starts)
        lines.append(f"\nCold start (process start to the overview's map canvas in Chromium), {len(starts)} runs: "
                     f"median {median_start:.2f} s (server healthy after {statistics.median(healthy):.2f} s, "
                     f"page title after {statistics.median(titles):.2f} s); "
                     f"runs {', '.join(f'{value:.2f}' for value in starts)} s")
        targets.append((f"cold start < {COLD_START_TARGET_S:g} s", f"{median_start:.2f} s",
                        median_start < COLD_START_TARGET_S))
        served = results["served"]
        lines.append(table(["page", "load KB", "frames", "filter change KB", "exceptions", "console errors"], [
            [page["title"], f"{page['load_bytes'] / 1024:,.0f}", page["load_frames"],
             f"{page['change_bytes'] / 1024:,.0f}", page["exceptions"], len(page["console_errors"])]
            for page in served["pages"]], "\nWebsocket bytes the browser received per page load (Playwright)"))
        peak = served["server_after_kb"]["VmHWM"] / 1024
        lines.append(f"Served app memory: {served['server_start_kb']['VmRSS'] / 1024:,.0f} MB when healthy, "
                     f"peak (VmHWM) {peak:,.0f} MB after loading every page and a filter change on each")
        if observation_bucket_is(observations, 200_000_000):
            targets.append(("app memory < 1 GB at 200M", f"{peak:,.0f} MB", peak < MEMORY_TARGET_MB))
        else:
            targets.append(("app memory < 1 GB (target set at 200M)", f"{peak:,.0f} MB", peak < MEMORY_TARGET_MB))
        largest = max(served["pages"], key=lambda page: page["load_bytes"])
        targets.append(("page load payload (all websocket frames; maps are part of it) <= 2 MB",
                        f"largest {largest['load_bytes'] / 1024:,.0f} KB ({largest['title']})",
                        largest["load_bytes"] <= MAP_BYTES_TARGET))
    lines.append(table(["target", "measured", "met"],
                       [[name, figure, "yes" if met else "NO" if met is not None else "-"]
                        for name, figure, met in targets], f"\nTargets at {label}"))
    return "\n".join(lines), targets


def observations_bucket(observations: int) -> int | None:
    """The target scale a measured scale stands for (within a factor of 1.5)."""
    for target in TARGETS_MS:
        if target / 1.5 <= observations <= target * 1.5:
            return target
    return None


def observation_bucket_is(observations: int, target: int) -> bool:
    return target / 1.5 <= observations <= target * 1.5


def load_report(load: dict) -> str:
    return table(["sessions", "seconds", "actions", "update p50 ms", "update p95 ms", "errors", "console errors",
                  "server MB before", "peak", "at close", f"{load['settle_s']:.0f} s later", "server cores",
                  "browsers' cores"], [[
        load["sessions"], f"{load['seconds']:.0f}", load["actions"], ms(load["update_p50_s"]),
        ms(load["update_p95_s"]), load["error_count"], load["console_error_count"], mb(load["baseline_mb"]),
        mb(load["peak_mb"]), mb(load["at_close_mb"]), mb(load["settled_mb"]), f"{load['server_cores']:.2f}",
        f"{load['browser_cores']:.2f}"]],
        f"\nLoad test: concurrent Chromium sessions clicking through pages and changing the borough filter, "
        f"{load.get('think_s', 0):g} s between clicks. The browsers share this machine's cores with the "
        f"server, at nice {load['browser_niceness']} so the server comes first; the cores columns are each "
        f"side's average CPU use"
        + (" (STOPPED EARLY: the machine ran low on memory)" if load.get("stopped_for_memory") else "")) + (
        "\n" + "\n".join(load["errors"] + load["console_errors"]) if load["errors"] or load["console_errors"] else "")


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=parse_scale, action="append",
                        help="observations in all datasets together, e.g. 2M, 20M, 200M (repeatable; "
                             "default: 2M and 20M)")
    # 36 changes, 12 of each kind: a page that ignores the metric still has over 20 misses, so that
    # its nearest-rank p95 is not simply its slowest rerun (30 gave Transport's sections 19).
    parser.add_argument("--steps", type=int, default=36, help="filter changes per page (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per query (default: %(default)s)")
    parser.add_argument("--ratio-runs", type=int, default=3,
                        help="runs of each way for the pandas comparison, 0 to skip it (default: %(default)s)")
    parser.add_argument("--raw-calls", type=int, default=2,
                        help="calls per query timed without the rollups, 0 to skip (default: %(default)s)")
    parser.add_argument("--cold-starts", type=int, default=3, help="cold starts to time (default: %(default)s)")
    parser.add_argument("--query-timeout", type=float, default=120,
                        help="seconds a query may take in the bench (default: %(default)s)")
    parser.add_argument("--skip-browser", action="store_true", help="no Chromium measurements")
    parser.add_argument("--settle", type=float, default=90,
                        help="seconds to wait at most, before measuring a scale, for the 1-minute load average "
                             "to fall to 1, as after building its data; 0 not to wait (default: %(default)s)")
    parser.add_argument("--load", action="store_true",
                        help="also run the browser load test against the app served with the last scale")
    parser.add_argument("--load-only", action="store_true", help="only the load test")
    parser.add_argument("--load-sessions", type=int, default=20, help="concurrent sessions (default: %(default)s)")
    parser.add_argument("--load-seconds", type=float, default=300, help="length of the load (default: %(default)s)")
    parser.add_argument("--load-think", type=float, default=5,
                        help="seconds each session reads a page before its next click, as people do; 0 clicks "
                             "as fast as the app answers (default: %(default)s)")
    parser.add_argument("--load-settle", type=float, default=60,
                        help="seconds to wait after the sessions close before the last memory reading")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help="where generated data and results are kept (default: %(default)s)")


def run(args: argparse.Namespace, out=print) -> int:
    scales = args.scale or [parse_scale("2M"), parse_scale("20M")]
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    (args.cache_dir / "results").mkdir(parents=True, exist_ok=True)
    summary: list[tuple[str, str, str, bool | None]] = []
    if not args.load_only:
        for observations in scales:
            results = measure_scale(observations, args, log=log)
            (args.cache_dir / "results" / f"{results['scale']}.json").write_text(json.dumps(results, indent=1,
                                                                                       default=str))
            text, targets = report(results)
            out(text)
            summary += [(results["scale"], *target) for target in targets]
    if args.load or args.load_only:
        from citydash import bench_browser

        observations = scales[-1]
        extracts, _ = ensure_data(observations, args.cache_dir, args.seed, args.days, log=log)
        pages = discover_pages(extracts, args)
        log(f"[load] {args.load_sessions} sessions for {args.load_seconds:.0f} s, {args.load_think:g} s between "
            f"clicks, against the app with {scale_label(observations)} observations ...")
        load = bench_browser.load_test(extracts, args.cache_dir / "runs" / "load", pages["pages"],
                                       pages["borough_names"], args.load_sessions, args.load_seconds,
                                       args.load_settle, think_s=args.load_think)
        (args.cache_dir / "results" / "load.json").write_text(json.dumps(load, indent=1))
        out(load_report(load))
        summary.append((scale_label(observations), "load test: no errors", f"{load['error_count']} errors, "
                        f"{load['console_error_count']} console errors",
                        load["error_count"] == 0 and load["console_error_count"] == 0))
    if summary:
        out(table(["scale", "target", "measured", "met"],
                  [[scale, name, figure, "yes" if met else "NO" if met is not None else "-"]
                   for scale, name, figure, met in summary], "\nAll targets"))
    return 0


def discover_pages(extracts: Path, args: argparse.Namespace) -> dict:
    """The pages dashboard.py registers, from one AppTest run with no filter changes."""
    work = args.cache_dir / "runs" / "discover"
    result, _, _ = run_task("app", {"extracts": str(extracts), "steps": 0, "calls_out": str(work / "calls.pkl"),
                                    "apptest_timeout_s": args.query_timeout, "pages_only": True}, work,
                            timeout_s=600)
    return result

