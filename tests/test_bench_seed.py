"""The benchmarks' database keeps up with the schema.

bench/seed.py writes its rows with plain SQL for speed, so a new NOT NULL column breaks
it without any model complaining (member.bureau_committee once did, and every bench that
reads the seeded file failed before measuring anything). A small seed here must open in
djbot, and djbot's report and 积分 must agree with the benchmark's hand-written SQL on it,
as bench/bench_reports.py asserts before it times anything.
"""

from __future__ import annotations

import sqlite3

from bench import bench_reports, seed


def test_a_small_seeded_bureau_opens_and_its_figures_match_the_baseline_sql(tmp_path):
    path = tmp_path / "bench.db"
    figures = seed.seed(path, members=60, branches=3)
    assert figures["members"] == 60 and figures["attendance"] > 0

    with sqlite3.connect(path) as con:
        revision = con.execute("SELECT version_num FROM alembic_version").fetchall()
    assert len(revision) == 1  # stamped: the CLI opens it instead of migrating it

    # Member 7 is in branch 1 and not opted out of the leaderboard (1 in 50 is).
    results = bench_reports.run(path, repeat=1, member_id=7)
    assert [name for name, _, _ in results][:2] == ["report weekly (build_report)",
                                                    "积分 (member points + rank)"]
