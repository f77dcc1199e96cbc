"""The command line: python -m citydash demo | ingest | check | bench."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from citydash.catalog import CatalogError, load_catalog

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PACK = Path(os.environ.get("CITYDASH_PACK", REPO_DIR / "data"))


def _pack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK,
                        help="city pack folder with catalog.toml (default: %(default)s)")


def _has_extracts(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.parquet"))


def command_demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from citydash import demo
    from citydash.ingest.publish import publish

    out = args.out or args.pack / "extracts"
    if _has_extracts(out):
        if args.if_empty:
            print(f"{out} already has extracts; leaving them as they are.")
            return 0
        if not args.force:
            print(f"{out} is not empty: pass --force to replace its demo datasets.", file=sys.stderr)
            return 2
    catalog = load_catalog(args.pack, extracts_dir=out)
    missing = [dataset_id for dataset_id in demo.DEMO_DATASETS if dataset_id not in catalog.datasets]
    if missing:
        print(f"The catalogue in {args.pack} has no entries for demo datasets {missing}.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    total_rows = 0
    steps = tqdm(total=2 * len(demo.DEMO_DATASETS), desc="Demo data", unit="step", file=sys.stderr)
    for dataset_id in demo.DEMO_DATASETS:
        steps.set_postfix_str(f"generating {dataset_id}")
        extract = demo.generate(catalog, dataset_id, seed=args.seed, scale=args.scale, days=args.days)
        steps.update()
        steps.set_postfix_str(f"publishing {dataset_id}")
        report = publish(extract, dataset_id, catalog, replace=True)
        total_rows += report.observations_published
        steps.update()
    steps.close()
    size = sum(path.stat().st_size for path in out.glob("*.parquet"))
    print(f"Wrote {total_rows:,} synthetic observations in {len(demo.DEMO_DATASETS)} datasets to {out} "
          f"({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s.")
    return 0


def command_check(args: argparse.Namespace) -> int:
    from citydash.check import check_pack

    report = check_pack(args.pack, args.extracts)
    print(report.to_text())
    return 0 if report.ok else 1


def command_bench(args: argparse.Namespace) -> int:
    from citydash import bench

    return bench.run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citydash", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo_parser = commands.add_parser("demo", help="generate deterministic synthetic demo data")
    _pack_arguments(demo_parser)
    demo_parser.add_argument("--out", type=Path, help="extracts folder (default: <pack>/extracts)")
    demo_parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of entities")
    demo_parser.add_argument("--seed", type=int, default=42)
    demo_parser.add_argument("--days", type=int, default=365, help="length of the demo period")
    demo_parser.add_argument("--force", action="store_true", help="replace existing demo datasets")
    demo_parser.add_argument("--if-empty", action="store_true",
                             help="do nothing when the extracts folder already has data (for make run)")
    demo_parser.set_defaults(handler=command_demo)

    check_parser = commands.add_parser("check", help="validate the catalogue and every extract")
    _pack_arguments(check_parser)
    check_parser.add_argument("--extracts", type=Path, help="extracts folder (default: <pack>/extracts)")
    check_parser.set_defaults(handler=command_check)

    from citydash.bench import add_bench_arguments
    bench_parser = commands.add_parser("bench", help="speed and memory figures at given scales (prints tables)")
    add_bench_arguments(bench_parser)
    bench_parser.set_defaults(handler=command_bench)

    from citydash.ingest.cli import add_ingest_parser
    add_ingest_parser(commands, _pack_arguments)

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CatalogError as error:
        print(f"Catalogue problem: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
