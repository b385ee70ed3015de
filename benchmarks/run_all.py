"""Run every benchmark script in turn and assemble benchmarks/RESULTS.md.

    python benchmarks/run_all.py [--only distance,mcd,...] [--quick]

Each bench_<area>.py writes benchmarks/results/<area>.md; this script runs them one after the
other (never concurrently: they would disturb each other's timings) and concatenates the
results in a fixed order under a header recording the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["limits", "distance", "mcd", "robust", "shrinkage", "control", "ml", "arrayapi",
         "extensions", "dask", "missing"]
# bench_online.py and bench_sketch.py both write sections of results/extensions.md.
SCRIPTS = {"extensions": ["online", "sketch"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None, help="comma-separated areas to rerun")
    ap.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md untouched")
    args = ap.parse_args(argv)
    areas = [a for a in ORDER if any(os.path.exists(os.path.join(HERE, f"bench_{s}.py"))
                                     for s in SCRIPTS.get(a, [a]))]
    if args.only:
        wanted = set(args.only.split(","))
        areas = [a for a in areas if a in wanted]
    failed = []
    for area, script in [(a, s) for a in areas for s in SCRIPTS.get(a, [a])]:
        cmd = [sys.executable, os.path.join(HERE, f"bench_{script}.py")]
        if args.quick:
            cmd.append("--quick")
        print(f"== {area}: {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=HERE)
        print(f"== {area}: exit {proc.returncode} after {time.perf_counter() - t0:.0f} s",
              flush=True)
        if proc.returncode != 0:
            failed.append(area)
    if not args.quick:
        assemble()
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def assemble() -> None:
    parts = ["# Benchmark results", "",
             "Produced by `make bench` (`benchmarks/run_all.py`). Every table compares tools "
             "measured in the same run, on the same machine (2 cores, no other load), as "
             "medians; ratios are the other tool's time over ours unless a column says "
             "otherwise. Sections are refreshed individually with "
             "`python benchmarks/run_all.py --only AREA`.", ""]
    for area in ORDER:
        path = os.path.join(HERE, "results", f"{area}.md")
        if os.path.exists(path):
            with open(path) as fh:
                parts.append(fh.read().strip())
                parts.append("")
    with open(os.path.join(HERE, "RESULTS.md"), "w") as fh:
        fh.write("\n".join(parts).rstrip() + "\n")


if __name__ == "__main__":
    sys.exit(main())
