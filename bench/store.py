"""Run store costs: seconds to record a finished run (artifacts + commit), to list runs, to load one back
for the pages, to build its HTML report, and the bytes each run takes on disk.

    .venv/bin/python bench/store.py [--algorithms kmeans ae_kmeans dec] [--runs 20]

Peers measured in the same invocation: training the run itself (what saving adds to), and numpy's
own `np.savez_compressed` of the labels + embedding (the floor for writing the arrays).
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import core  # noqa: E402,F401
from core.experiment import RunConfig, run_experiment  # noqa: E402
from core.runs import RunStore  # noqa: E402
from core.runs.report import html_report  # noqa: E402


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(action, repeats: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        action()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithms", nargs="+", default=["kmeans", "ae_kmeans", "dec"])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--runs", type=int, default=20, help="runs in the store when listing is timed")
    args = parser.parse_args()

    store = RunStore(tempfile.mkdtemp(prefix="bench-store-"))
    print(f"{'algorithm':<14}{'train s':>9}{'save s':>8}{'npz floor s':>12}{'load s':>8}{'report s':>9}"
          f"{'report MB':>10}{'run MB':>8}{'model MB':>9}")
    for algorithm in args.algorithms:
        result = run_experiment(RunConfig(dataset=args.dataset, algorithm=algorithm, projection="pca"))
        run_id = store.start_run(result.config)
        save = timed(lambda: store.finish_run(run_id, result, result.estimator))
        floor = timed(lambda: np.savez_compressed(io.BytesIO(), labels=result.labels, embedding=result.embedding))
        load = timed(lambda: store.load_result(run_id), repeats=3)
        start = time.perf_counter()
        report = html_report(result)
        report_s = time.perf_counter() - start
        folder = store.run_dir(run_id)
        model = folder / "model"
        print(f"{algorithm:<14}{result.total_seconds:>9.1f}{save:>8.2f}{floor:>12.3f}{load:>8.2f}{report_s:>9.2f}"
              f"{len(report) / 1e6:>10.1f}{folder_bytes(folder) / 1e6:>8.1f}{folder_bytes(model) / 1e6:>9.1f}")

    record = store.get(run_id)
    with store.database.connect() as db:  # pad the store with copies of the last record to time listing
        for _ in range(args.runs - len(args.algorithms)):
            db.execute("INSERT INTO runs (name, dataset, algorithm, config, status, started_at, ended_at, history, "
                       "metrics, timings, host, pid) SELECT name, dataset, algorithm, config, status, started_at, "
                       "ended_at, history, metrics, timings, host, pid FROM runs WHERE id = ?", (record.id,))
    listing = timed(store.list_runs, repeats=5)
    print(f"list {len(store.list_runs())} runs: {listing * 1000:.1f} ms")


if __name__ == "__main__":
    main()
