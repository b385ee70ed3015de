"""Run every benchmark script in turn and assemble benchmarks/RESULTS.md.

    python benchmarks/run_all.py [--only distance,mcd,...] [--quick | --full]

Each bench_<area>.py writes benchmarks/results/<area>.md; this script runs them one after the
other (never concurrently: they would disturb each other's timings) and concatenates the
results in a fixed order under a header recording the machine. At the end it prints the wall
and CPU seconds of each area and the total (`make bench` should stay under 10 minutes).

``--full`` passes ``--full`` to the scripts that have heavier optional cells:

- limits: R's DetMCD at 1e6 rows (about 70 s);
- mcd: scikit-learn's MinCovDet on every seed at n p >= 1e6 (7-20 s a fit);
- robust: n = 1e5 against rrcov (about 10 minutes);
- arrayapi: 1e6 embeddings instead of 2.5e5;
- online (extensions): 1e6 streaming updates instead of 2e5;
- sketch (extensions): 200 sketches per configuration, k = 400 and 800 too, and 20 000
  queries (instead of 100 sketches, k <= 200 and 5000 queries).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["limits", "distance", "mcd", "robust", "shrinkage", "control", "ml", "arrayapi",
         "extensions", "dask", "missing", "calibration"]
# bench_online.py and bench_sketch.py both write sections of results/extensions.md.
SCRIPTS = {"extensions": ["online", "sketch"]}
#: Scripts that take --full (see the module docstring).
HAS_FULL = {"limits", "mcd", "robust", "arrayapi", "online", "sketch"}


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (and their waited-for
    descendants: R, dask workers)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None, help="comma-separated areas to rerun")
    ap.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md untouched")
    ap.add_argument("--full", action="store_true", help="also the heavy optional cells")
    args = ap.parse_args(argv)
    areas = [a for a in ORDER if any(os.path.exists(os.path.join(HERE, f"bench_{s}.py"))
                                     for s in SCRIPTS.get(a, [a]))]
    if args.only:
        wanted = set(args.only.split(","))
        areas = [a for a in areas if a in wanted]
    failed = []
    spent: list[tuple[str, float, float]] = []
    for area, script in [(a, s) for a in areas for s in SCRIPTS.get(a, [a])]:
        cmd = [sys.executable, os.path.join(HERE, f"bench_{script}.py")]
        if args.quick:
            cmd.append("--quick")
        elif args.full and script in HAS_FULL:
            cmd.append("--full")
        print(f"== {area}: {' '.join(cmd)}", flush=True)
        t0, c0 = time.perf_counter(), _children_cpu()
        proc = subprocess.run(cmd, cwd=HERE)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
        spent.append((script, wall, cpu))
        print(f"== {area}: exit {proc.returncode} after {wall:.0f} s ({cpu:.0f} CPU s)",
              flush=True)
        if proc.returncode != 0:
            failed.append(area)
    if not args.quick:
        assemble()
    print(time_table(spent), flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def time_table(spent: list[tuple[str, float, float]]) -> str:
    """The wall and CPU seconds of each script and the total, as a text table."""
    lines = [f"{'script':<14}{'wall s':>9}{'CPU s':>9}"]
    lines += [f"{name:<14}{wall:>9.0f}{cpu:>9.0f}" for name, wall, cpu in spent]
    total_wall = sum(w for _, w, _ in spent)
    total_cpu = sum(c for _, _, c in spent)
    lines.append(f"{'total':<14}{total_wall:>9.0f}{total_cpu:>9.0f}"
                 f"   ({total_wall / 60:.1f} min wall)")
    return "\n".join(lines)


def assemble() -> None:
    parts = ["# Benchmark results", "",
             "Produced by `make bench` (`benchmarks/run_all.py`). Every table compares tools "
             "measured in the same run, on the same machine (2 cores, no other load), as "
             "medians; ratios are the other tool's time over ours unless a column says "
             "otherwise. Sections are refreshed individually with "
             "`python benchmarks/run_all.py --only AREA`. Heavy optional cells (R's DetMCD at "
             "1e6 rows, MinCovDet on every seed, robust estimators at n = 1e5, 1e6 "
             "embeddings, 1e6 streaming updates, 200 sketches) run with `--full`; the list is "
             "in benchmarks/run_all.py.", ""]
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
