"""Where a run's time and memory go as the data grows: the same run at a small size (the peer) and at MNIST's size.

    .venv/bin/python bench/scale.py                                # N2D, 5 epochs, 10,000 and 70,000 images
    .venv/bin/python bench/scale.py --sizes 2000 70000 --algorithm ae_kmeans --epochs 3

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


def add_dataset(n: int, seed: int, folder: Path) -> tuple:
    """`n` synthetic 28x28 images saved in the store by ``python -m core datasets add``: (name, seconds), or
    (None, the command's one-line refusal)."""
    from core.data.loaders import make_synthetic

    data = make_synthetic(n_samples=n, n_clusters=10, image_size=28, seed=seed)
    source, name = folder / f"synthetic-{n}.npz", f"synthetic-{n}"
    np.savez(source, x=(data.images[..., 0] * 255).round().astype(np.uint8), y=data.labels)
    start = time.perf_counter()
    added = subprocess.run([sys.executable, "-m", "core", "datasets", "add", str(source), "--name", name],
                           cwd=ROOT, capture_output=True, text=True)
    if added.returncode != 0:
        return None, added.stderr.strip()
    return name, time.perf_counter() - start


def one_run(name: str, algorithm: str, epochs: int, seed: int) -> dict:
    """Run `algorithm` on saved dataset `name` in this process; its figures as a dict."""
    from core.experiment import RunConfig, run_experiment
    from core.projection import warm_up_umap

    warm_up_umap()  # as the app's training process does before its first run: UMAP's compiling is not the run's
    config = RunConfig(dataset=name, algorithm=algorithm, params={"epochs": epochs}, seed=seed)
    result = run_experiment(config)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return {"n": result.dataset.n_samples, "timings": {k: v for k, v in result.timings.items() if k != "total"},
            "peak_mb": peak_mb, "nmi": result.metrics.nmi}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 70_000])
    parser.add_argument("--algorithm", default="n2d")
    parser.add_argument("--epochs", type=int, default=5, help="the network's epochs (the app's default is 75)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: run this dataset, print JSON
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.algorithm, args.epochs, args.seed)))
        return
    os.environ["DEEP_CLUSTERING_HOME"] = tempfile.mkdtemp(prefix="bench-scale-")  # never the user's store

    print(f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, Python "
          f"{platform.python_version()}; {args.algorithm}, {args.epochs} epochs, seed {args.seed}, 28x28 synthetic")
    rows = []
    for n in args.sizes:
        name, seconds = add_dataset(n, args.seed, Path(os.environ["DEEP_CLUSTERING_HOME"]))
        if name is None:
            print(f"{n:,} images: refused by datasets add: {seconds}")
            break
        child = subprocess.run([sys.executable, __file__, "--one", name, "--algorithm", args.algorithm,
                                "--epochs", str(args.epochs), "--seed", str(args.seed)],
                               capture_output=True, text=True)
        if child.returncode != 0:
            print(f"{n:,} images: the run failed:\n{child.stderr[-2000:]}")
            break
        row = json.loads(child.stdout.strip().splitlines()[-1])
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
