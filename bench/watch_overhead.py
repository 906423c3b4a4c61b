"""What watching a network learn costs: the same deep runs with and without frames, in one process.

    .venv/bin/python bench/watch_overhead.py                 # the cases below, 2 repeats each
    .venv/bin/python bench/watch_overhead.py --repeats 3 --cases ae_kmeans

Each case fits the same estimator on the same data with the same seed, once with a frame recorder
(core.algorithms.watch.FrameRecorder: what every run of the app and the command line takes) and once without,
alternating which goes first, after one short warm-up fit per case (TensorFlow traces its steps on a first
fit). It prints the median seconds of each, their ratio, the ratio of the fastest fit of each ("best": what
other work on the machine slows least), the seconds the recorder itself spent taking frames
(the part the ratio is made of, measured directly and steadier than a difference of two noisy runs) and its
share of the fit without frames, the frames taken, whether the two fits gave the same clusters (they must:
frames are taken with their own random generators), and every fit's seconds (how noisy the machine was).

The fits are the training only (pretraining and clustering phase): a run's loading, scoring and 2-D
projection come on top and do not change with frames, so the share of a whole run is smaller still.

Cases (each at its defaults unless said):
- ae_kmeans: autoencoder + k-means on digits (1,797 images of 8x8, dense network, 75 epochs);
- dec: DEC on digits (75 pretraining epochs, up to 30 of its clustering phase);
- dcec: DCEC on 3,000 synthetic images of 28x28 (convolutional network: the dearest frames), 20 + 10 epochs;
- n2d: N2D on 5,000 synthetic images of 28x28 (the default method; dense network, 20 epochs, UMAP).

Runs in CI? No: by hand (minutes). The figures are in docs/watch-it-learn.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = {
    "ae_kmeans": dict(dataset="digits", options={}, algorithm="ae_kmeans", params={}),
    "dec": dict(dataset="digits", options={}, algorithm="dec", params={}),
    "dcec": dict(dataset="synthetic", options=dict(n_samples=3000, image_size=28, n_clusters=5),
                 algorithm="dcec", params=dict(epochs=20, cluster_epochs=10)),
    "n2d": dict(dataset="synthetic", options=dict(n_samples=5000, image_size=28, n_clusters=5),
                algorithm="n2d", params=dict(epochs=20)),
}


def fit_once(spec, case: dict, X, n_clusters: int, truth, *, watched: bool, seed: int = 0, **overrides):
    """(seconds, the fitted estimator, its recorder or None) of one fit of `case`."""
    from core.algorithms.watch import FrameRecorder

    estimator = spec.build(n_clusters, random_state=seed, **{**case["params"], **overrides})
    recorder = FrameRecorder(len(X), n_clusters, seed=seed, truth=truth) if watched else None
    start = time.perf_counter()
    estimator.fit(X, recorder=recorder)
    return time.perf_counter() - start, estimator, recorder


def measure(name: str, case: dict, repeats: int) -> dict:
    import numpy as np

    from core.algorithms import get_algorithm
    from core.experiment import RunConfig, default_n_clusters, prepare_data

    config = RunConfig(dataset=case["dataset"], algorithm=case["algorithm"], dataset_options=case["options"])
    dataset, X = prepare_data(config)
    spec, n_clusters = get_algorithm(case["algorithm"]), default_n_clusters(dataset)
    truth = dataset.labels if dataset.has_labels else None
    warm_up = {"epochs": 1} | ({"cluster_epochs": 1} if "cluster_epochs" in {p.name for p in spec.params} else {})
    fit_once(spec, case, X, n_clusters, truth, watched=True, **warm_up)
    times = {False: [], True: []}
    labels, frames, frame_seconds = {}, 0, []
    for repeat in range(repeats):
        for watched in ((False, True) if repeat % 2 == 0 else (True, False)):
            seconds, estimator, recorder = fit_once(spec, case, X, n_clusters, truth, watched=watched)
            times[watched].append(seconds)
            labels[watched] = estimator.labels_
            if recorder is not None:
                frames, frame_seconds = len(recorder.frames), frame_seconds + [recorder.seconds]
    plain, watched = statistics.median(times[False]), statistics.median(times[True])
    return {"case": name, "images": len(X), "without": plain, "with": watched, "ratio": watched / plain,
            "best": min(times[True]) / min(times[False]),
            "each": " ".join(f"{'+' if w else '-'}{t:.1f}" for w in (False, True) for t in times[w]),
            "frame_seconds": statistics.median(frame_seconds), "share": statistics.median(frame_seconds) / plain,
            "frames": frames, "same": bool(np.array_equal(labels[False], labels[True]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="fits with and without frames per case")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    import core  # noqa: F401  (quiets TensorFlow)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, Python "
          f"{platform.python_version()}, XLA {'off' if os.environ.get('DEEP_CLUSTERING_XLA') == '0' else 'on'}; "
          f"{args.repeats} fits each way, medians")
    print(f"{'case':<11}{'images':>7}{'without s':>11}{'with s':>9}{'ratio':>8}{'best':>7}{'frames s':>10}{'share':>8}"
          f"{'frames':>8}{'same clusters':>15}   each fit (- without, + with)")
    for name in args.cases:
        row = measure(name, CASES[name], args.repeats)
        print(f"{row['case']:<11}{row['images']:>7,}{row['without']:>11.1f}{row['with']:>9.1f}{row['ratio']:>8.3f}"
              f"{row['best']:>7.3f}"
              f"{row['frame_seconds']:>10.2f}{row['share']:>8.1%}{row['frames']:>8}{str(row['same']):>15}   "
              f"{row['each']}", flush=True)


if __name__ == "__main__":
    main()
