"""A sweep's wall time in one local process (the command line's and the training process's way) against the same
sweep as Ray tasks on a local Ray instance of two workers (core.runs.ray_sweeps).

    .venv/bin/python bench/ray_sweep.py                  # autoencoder + k-means on digits, 2 latent sizes x 2 seeds
    .venv/bin/python bench/ray_sweep.py --epochs 40 --seeds 3

Needs requirements-ray.txt. The same configurations run three times, each into its own fresh run store (no
pretrained autoencoder is reused): one after another in this process (TensorFlow imported and UMAP loaded
before the clock starts, as in a warm training process); on Ray with two CPUs, its workers started cold (each
imports TensorFlow and loads UMAP itself: what a first sweep on a cluster pays); and once more on the same,
now warm, workers. It prints each wall time and the ratio to the local one.

On a machine of two cores this measures Ray's overhead, not its scaling: the two Ray workers share the same two
cores a local run uses, and on top come their start (TensorFlow, UMAP, a first trace of each network), the data
sent to them and the results sent back. A cluster pays off where each node brings its own cores or GPU. Runs in
CI? No: by hand (about 5 minutes on 2 cores). The figures are in docs/ray.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core import quiet_tensorflow_import  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.experiment import RunConfig  # noqa: E402
from core.projection import warm_up_umap  # noqa: E402
from core.runs import RunStore  # noqa: E402
from core.runs.ray_sweeps import RayDriver, ray_installed, runtime_env  # noqa: E402
from core.runs.runner import run_sweep, sweep_configs  # noqa: E402

try:
    import ray
except ImportError:  # said in main
    ray = None

WORKERS = 2


def timed_local(base: RunConfig, axes: dict, folder: Path) -> float:
    start = time.perf_counter()
    run_sweep(base, axes, RunStore(folder), stop_on_error=True)
    return time.perf_counter() - start


def timed_ray(base: RunConfig, axes: dict, folder: Path, dataset) -> float:
    configs = sweep_configs(base, axes)
    store = RunStore(folder)
    start = time.perf_counter()
    outcomes = RayDriver(store, configs, [f"point {i}" for i in range(len(configs))], None, dataset=dataset).run()
    seconds = time.perf_counter() - start
    failed = [o for o in outcomes if isinstance(o, Exception)]
    if failed:
        raise SystemExit(f"{len(failed)} Ray runs did not finish: {failed[0]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    if not ray_installed():
        raise SystemExit("Ray is not installed: pip install -r requirements-ray.txt")
    base = RunConfig(dataset="digits", algorithm="ae_kmeans", params={"epochs": args.epochs})
    axes = {"latent_dim": [5, 10], "seed": list(range(args.seeds))}
    n_runs = len(sweep_configs(base, axes))
    dataset = load_dataset("digits")
    quiet_tensorflow_import()
    warm_up_umap()
    temp = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    try:
        local = timed_local(base, axes, temp / "local")
        ray.init(num_cpus=WORKERS, include_dashboard=False, _temp_dir=str(temp / "ray"), runtime_env=runtime_env(),
                 log_to_driver=False, logging_level=logging.WARNING)
        cold = timed_ray(base, axes, temp / "cold", dataset)
        warm = timed_ray(base, axes, temp / "warm", dataset)
        ray.shutdown()
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    print(f"{n_runs} runs of autoencoder + k-means on digits (1,797 images, {args.epochs} epochs, UMAP projection): "
          f"latent size 5, 10 x seeds 0-{args.seeds - 1}; {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, Ray {ray.__version__}")
    print(f"{'one local process':<34}{local:7.1f} s")
    print(f"{f'Ray, {WORKERS} workers, started cold':<34}{cold:7.1f} s   x{cold / local:.2f} of local")
    print(f"{f'Ray, {WORKERS} workers, warm':<34}{warm:7.1f} s   x{warm / local:.2f} of local")
    if (os.cpu_count() or 1) <= WORKERS:
        print(f"On {os.cpu_count()} cores this is Ray's overhead, not its scaling: both workers share this machine's "
              "cores. Cold, each worker first imports TensorFlow, loads UMAP and traces its network; warm, two small "
              "runs side by side (one thread each) may use the cores better than one process does. Scaling needs "
              "nodes that bring cores of their own.")


if __name__ == "__main__":
    main()
