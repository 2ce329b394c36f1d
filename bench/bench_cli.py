"""The command line from the shell: `djbot --help` and `djbot report weekly`, end to end,
beside the bare SQL of that report, all timed in turns in the same run.

    python -m bench.bench_cli [--db bench/bench.db] [--repeat 15]

Each line is a fresh process, as an operator types it (interpreter start, imports, the
database, the output). The baselines are the report's hand-written SQL (the statements of
bench/bench_reports.py, whose figures that script checks against djbot's):

- "SQL, in process": the two statements on an open sqlite3 connection (what the report's
  database work costs, nothing else);
- "SQL, as a process": a `python -c` that opens the file with sqlite3, runs the same two
  statements and prints the rows (the least any command line answering this can do).

Ratios are of medians measured in the same run, so a busy machine slows both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEEK = "2026-W48"

BARE_SQL = """
import json, sqlite3, sys
job = json.loads(sys.argv[1])
con = sqlite3.connect(job["db"])
for sql in job["sql"]:
    for row in con.execute(sql, job["params"]):
        print(row)
"""


def report_sql() -> tuple[list[str], dict[str, str]]:
    """The weekly report's two baseline statements and their parameters for WEEK."""
    from bench.bench_reports import BASELINE_BRANCHES, BASELINE_TOP, sqlite_time
    from bot.config import Settings
    from bot.domain.points import parse_iso_week, previous_period

    tz = Settings(_env_file=None).tz
    week = parse_iso_week(WEEK, tz)
    before = previous_period(week)
    params = {"s1": sqlite_time(week.start), "e1": sqlite_time(week.end),
              "s0": sqlite_time(before.start), "e0": sqlite_time(before.end),
              "y0": "2026-01-01", "ylast": week.last_day.isoformat()}
    return [str(BASELINE_BRANCHES), str(BASELINE_TOP)], params


def djbot_command(root: Path) -> list[str]:
    """`djbot` as the script runs it; an older checkout without bot/__main__.py has only
    `python -m bot.cli`, the whole command line."""
    module = "bot" if (root / "bot" / "__main__.py").exists() else "bot.cli"
    return [sys.executable, "-m", module]


def process(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> Callable[[], None]:
    def run() -> None:
        result = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr.decode()}")
    return run


def timed(cases: dict[str, Callable[[], None]], repeat: int) -> dict[str, list[float]]:
    """Milliseconds per case, the cases in turns; one warm-up each (page cache, .pyc)."""
    for fn in cases.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            started = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description="time djbot's command line end to end")
    parser.add_argument("--db", type=Path, default=Path("bench/bench.db"))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--before", type=Path,
                        help="a checkout of older code (e.g. `git archive` of a commit) to time "
                             "beside this one in the same run")
    args = parser.parse_args()
    path = args.db.resolve()
    if not path.exists():
        raise SystemExit(f"{args.db} not found: run `python -m bench.seed --db {args.db}` first")
    djbot = djbot_command(ROOT)
    before = djbot_command(args.before.resolve()) if args.before else []
    env = {**os.environ, "DJBOT_DATABASE_URL": f"sqlite:///{path}"}
    statements, params = report_sql()
    con = sqlite3.connect(path)

    def sql_in_process() -> None:
        for sql in statements:
            con.execute(sql, params).fetchall()

    job = json.dumps({"db": str(path), "sql": statements, "params": params})
    cases = {
        "python -c pass (interpreter start)": process([sys.executable, "-c", "pass"], env),
        "djbot --help": process([*djbot, "--help"], env),
        f"djbot report weekly --week {WEEK}": process(
            [*djbot, "report", "weekly", "--week", WEEK], env),
        "report SQL, as a process": process([sys.executable, "-c", BARE_SQL, job], env),
        **({
            "djbot --help (before)": process([*before, "--help"], env, args.before.resolve()),
            "report weekly (before)": process([*before, "report", "weekly", "--week", WEEK],
                                              env, args.before.resolve()),
        } if args.before else {}),
        "report SQL, in process": sql_in_process,
    }
    samples = timed(cases, args.repeat)
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{len(os.sched_getaffinity(0))} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.repeat} runs each, in turns")
    print(f"{'what':40} {'min ms':>8} {'median':>8} {'max':>8}")
    for name, values in samples.items():
        print(f"{name:40} {min(values):8.0f} {median[name]:8.0f} {max(values):8.0f}")
    weekly = median[f"djbot report weekly --week {WEEK}"]
    print(f"report weekly / its SQL in process: {weekly / median['report SQL, in process']:.2f}")
    as_process = median["report SQL, as a process"]
    print(f"report weekly / its SQL as a process: {weekly / as_process:.2f}")
    print(f"djbot --help / interpreter start: "
          f"{median['djbot --help'] / median['python -c pass (interpreter start)']:.2f}")
    if args.before:
        print(f"djbot --help, this / before: "
              f"{median['djbot --help'] / median['djbot --help (before)']:.2f}")
        print(f"report weekly, this / before: {weekly / median['report weekly (before)']:.2f}")


if __name__ == "__main__":
    main()
