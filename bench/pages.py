"""Seconds to open each page of the dashboard, and Compare against the others.

    .venv/bin/python bench/pages.py [--repeats 5] [--home DIR]

Fills a temporary run store (or reuses `--home`, filling it only when it holds no finished run) with quick
classical runs on the bundled "digits" dataset: k-means with 8, 10 and 12 clusters, agglomerative,
a Gaussian mixture, spectral clustering and DBSCAN. Then opens every page with Streamlit's AppTest:
one new session per page, its first opening timed ("first"), then `--repeats` rounds rerunning every page
once each (so background noise hits all pages alike) and the median rerun printed ("rerun"). The peer
figure is the median of the other pages; the ratio says how much slower Compare opens. AppTest times the
server's script only: the browser's drawing of the charts comes on top (fewer, lighter charts help there).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["pages/train.py", "pages/sweeps.py", "pages/explore.py", "pages/metrics.py", "pages/model.py",
         "pages/clusters.py", "pages/runs.py", "pages/compare.py"]

RUNS = [  # (algorithm, number of clusters, parameters)
    ("kmeans", 8, {}), ("kmeans", 10, {}), ("kmeans", 12, {}),
    ("agglomerative", 10, {}), ("gmm", 10, {}), ("spectral", 10, {}), ("dbscan", None, {}),
]


def fill(store) -> None:
    from core.experiment import RunConfig
    from core.runs.runner import record_run

    for algorithm, k, params in RUNS:
        record_run(RunConfig(dataset="digits", algorithm=algorithm, n_clusters=k, params=params),
                   store, name=f"bench {algorithm}" + (f" k={k}" if k else ""))


def open_page(path: str, result=None):
    """A new session (AppTest) showing `path`, and the seconds its first opening took. `result` is the run
    the session shows on the result pages (Explore, Metrics, Model, How many clusters?)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if result is not None:
        at.session_state["result"] = result  # ui.state.RESULT: as if the run had been opened from Runs
    start = time.perf_counter()
    at.switch_page(path).run()
    first = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{path}: {at.exception}")
    return at, first


def rerun(at) -> float:
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed reruns per page after the first")
    parser.add_argument("--home", help="run store folder to use (default: a new temporary one)")
    parser.add_argument("--pages", nargs="+", default=PAGES)
    parser.add_argument("--settle", type=float, default=20, help="seconds to wait for the training process to start")
    args = parser.parse_args()

    os.environ["DEEP_CLUSTERING_HOME"] = args.home or tempfile.mkdtemp(prefix="bench-pages-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import core  # noqa: F401  (after DEEP_CLUSTERING_HOME: the store is opened where it points)
    from core.runs import FINISHED, RunStore

    store = RunStore()
    if not store.list_runs(status=FINISHED):
        start = time.perf_counter()
        fill(store)
        print(f"filled {store.directory} with {len(RUNS)} runs in {time.perf_counter() - start:.1f} s")
    latest = store.list_runs(status=FINISHED, limit=1)[0]
    result = store.load_result(latest.id)
    warm, _ = open_page(args.pages[0], result)  # starts the server's training process (TensorFlow import)
    time.sleep(args.settle)  # ... which takes the CPU for a while: let it finish before timing
    sessions, firsts = {}, {}
    for path in args.pages:
        sessions[path], firsts[path] = open_page(path, result)
    times = {path: [] for path in args.pages}
    for _ in range(args.repeats):  # rounds over all pages, so background noise hits every page alike
        for path in args.pages:
            times[path].append(rerun(sessions[path]))
    reruns = {path: statistics.median(t) for path, t in times.items()}
    print(f"{'page':<22}{'first s':>9}{'rerun s':>9}")
    for path in args.pages:
        print(f"{path:<22}{firsts[path]:>9.3f}{reruns[path]:>9.3f}")
    if "pages/compare.py" in reruns and len(reruns) > 1:
        peers = statistics.median(v for k, v in reruns.items() if k != "pages/compare.py")
        print(f"Compare {reruns['pages/compare.py']:.3f} s / median of the others {peers:.3f} s = "
              f"{reruns['pages/compare.py'] / peers:.1f}x (reruns)")


if __name__ == "__main__":
    main()
