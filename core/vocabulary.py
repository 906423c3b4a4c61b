"""One home for the words every page, the HTML report and the command line use.

How a cluster is named, which metrics there are and in what order, what a setting is called, which
settings a run actually used, what a timed phase is called, the majority-label caption: each is written
here once, so "cluster 3", "Number of clusters" and "2-D projection (UMAP)" read the same everywhere.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from core.algorithms import ALGORITHMS
from core.data import PREPROCESSING
from core.metrics import LABEL_METRICS, METRICS  # noqa: F401  (imported from here by pages, beside the words)
from core.projection import UMAP_FITS

# What each metric means, in a line (the metrics themselves and their order: core.metrics.METRICS).
METRIC_HELP = {
    "ACC": "Accuracy after the best one-to-one matching of clusters to true labels (Hungarian algorithm).",
    "NMI": "Normalised mutual information between clusters and true labels (0 to 1).",
    "ARI": "Adjusted Rand index: agreement with the true labels, 0 for chance, 1 for identical.",
    "Purity": "Share of images in the majority true label of their cluster.",
    "Silhouette": "How far apart the clusters are compared with their width, in the space they were made in "
                  "(-1 to 1). Needs no labels, but only compares runs clustered in the same space.",
    "UMAP silhouette": "How far apart the clusters lie on one 2-D UMAP map of the images, the same for every run on "
                       "them (-1 to 1). Needs no labels and tracked NMI best: runs without labels rank by it.",
}

# Settings of a run that are not an algorithm's own parameters.
RUN_SETTINGS = {
    "dataset": "Dataset",
    "algorithm": "Algorithm",
    "n_samples": "Sample size",
    "images": "Images",
    "n_clusters": "Number of clusters",
    "preprocessing": "Preprocessing",
    "seed": "Seed",
}

# Timed phases of a run (ClusteringResult.timings keys).
PHASES = {
    "load": "Loading the data",
    "pretrain": "Pretraining the autoencoder",
    "init": "Initialising the clusters",
    "features": "Pretrained network's features",
    "manifold": "UMAP manifold",
    "cluster": "Clustering",
    "evaluate": "Scoring",
    "project": "2-D projection",
    "project_umap": "2-D projection (UMAP)",
    "project_pca": "2-D projection (PCA)",
    "total": "Total",
}


def cluster_name(cluster, names: Optional[Mapping] = None) -> str:
    """The name a person gave `cluster` in `names` ({cluster id: name}, hand corrections), else "cluster 3",
    or "noise" for the density methods' -1."""
    cluster = int(cluster)
    if names and names.get(cluster):
        return names[cluster]
    return "noise" if cluster < 0 else f"cluster {cluster}"


def cluster_names(clusters: Iterable, names: Optional[Mapping] = None) -> dict:
    """{cluster id: name} for every id in `clusters` (given `names` first)."""
    return {int(c): cluster_name(c, names) for c in clusters}


def setting_label(name: str, algorithm: Optional[str] = None) -> str:
    """What the user sees for a setting: a run setting, or `algorithm`'s parameter label."""
    if name in RUN_SETTINGS:
        return RUN_SETTINGS[name]
    if algorithm is not None:
        spec = ALGORITHMS.get(algorithm)
        for param in (spec.params if spec else ()):
            if param.name == name:
                return param.label
    for spec in ALGORITHMS.values():  # any algorithm's label for a shared name (Latent size, Epochs)
        for param in spec.params:
            if param.name == name:
                return _plain_label(param.label)
    return name.replace("_", " ").capitalize()


def _plain_label(label: str) -> str:
    """A parameter label without the parenthesised note of one algorithm ("Epochs (autoencoder space)")."""
    return label.split(" (")[0] if label.endswith(")") and " (" in label else label


def phase_label(name: str) -> str:
    return PHASES.get(name, name.replace("_", " ").capitalize())


def format_value(value) -> str:
    """A setting's value as text: "automatic" for None, Yes / No, numbers without trailing noise."""
    if value is None:
        return "automatic"
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (list, tuple)):
        return " x ".join(format_value(v) for v in value)
    return str(value)


def preprocessing_label(name: str) -> str:
    return PREPROCESSING.get(name, name)


def used_params(algorithm: str, params: Mapping) -> dict:
    """The algorithm parameters a run with `params` used, in the form's order, defaults filled in.

    A parameter that only applies with another setting (the autoencoder's latent size and epochs when a
    classical method clusters pixels, say) is left out when that setting rules it out.
    """
    spec = ALGORITHMS.get(algorithm)
    if spec is None:
        return dict(params)
    values = {p.name: p.default for p in spec.params}
    values.update({k: v for k, v in params.items() if k in values})
    return {p.name: values[p.name] for p in spec.params if p.applies_to(values)}


def run_settings(config, *, n_samples: Optional[int] = None, n_clusters: Optional[int] = None) -> list[tuple]:
    """[(label, value text)] of everything a run used: data, cluster count, the algorithm's used
    parameters, preprocessing and seed. The one parameter table of the pages, the report and exports."""
    spec = ALGORITHMS.get(config.algorithm)
    rows = [("Dataset", config.dataset)]
    if n_samples is not None:
        rows.append(("Images", f"{int(n_samples):,}"))
    rows.append(("Algorithm", spec.title if spec else config.algorithm))
    count = n_clusters if n_clusters is not None else config.n_clusters
    found = spec is not None and not spec.uses_n_clusters
    if count is None:
        rows.append(("Number of clusters", "found by the algorithm" if found else "the number of classes"))
    else:
        rows.append(("Number of clusters", f"{count} (found by the algorithm)" if found else str(count)))
    rows += [(setting_label(name, config.algorithm), format_value(value))
             for name, value in used_params(config.algorithm, config.params).items()]
    rows += [("Preprocessing", preprocessing_label(config.preprocessing)), ("Seed", str(config.seed))]
    if config.mixed_precision:  # said only when on: most runs train in float32
        rows.append(("Mixed precision", "on (float16 computation)"))
    if config.projection_fit != "auto":  # said only when chosen: the projection's title says what auto did
        rows.append(("Projection fitted on", UMAP_FITS.get(config.projection_fit, config.projection_fit)))
    return rows


def embedding_space(algorithm: str, params: Mapping, n_features: Optional[int] = None,
                    architecture: Optional[str] = None) -> str:
    """The space a run's clusters were made in (where its silhouette is computed), e.g.
    "autoencoder embedding (10-d)" or "pixels (64-d)", as the algorithm's estimator names it
    (``embedding_space_``); `architecture` is the network the run fitted when its setting was "auto".
    For runs recorded before the space was."""
    spec = ALGORITHMS[algorithm]
    known = {p.name for p in spec.params}
    estimator = spec.build(2, **{name: value for name, value in params.items() if name in known})
    return estimator.space_text(n_features, architecture)


def umap_silhouette_note(report) -> str:
    """Where a run's UMAP silhouette was computed and on how many images, or why it is empty ("" for a run
    recorded before the score was kept): the caption the Metrics page and the HTML report show."""
    score = report.umap_silhouette
    if score is None:
        return ""
    if score.score is None:
        return f"UMAP silhouette not computed: {score.reason}"
    sample = (f"a random sample of {score.n_samples:,} of {score.n_total:,} images" if score.sampled
              else f"all {score.n_total:,} images")
    return (f"UMAP silhouette computed in the run's 2-D picture ({score.space}), on {sample}. It compares with "
            "other runs on the same images, whatever space they were clustered in.")


def majority_caption(true_labels: Sequence, label_name=str) -> str:
    """"Most common true label: 7 (83% of the cluster)." for the true labels of one cluster's members."""
    values, counts = np.unique(np.asarray(true_labels), return_counts=True)
    if len(values) == 0:
        return ""
    top = int(np.argmax(counts))
    return (f"Most common true label: {label_name(values[top].item())} "
            f"({counts[top] / counts.sum():.0%} of the cluster).")


def format_seconds(seconds: Optional[float]) -> str:
    """A duration the same way on every page: "4.2 s", "1 min 12 s"."""
    if seconds is None:
        return "n/a"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


def format_bytes(n_bytes: int) -> str:
    """A size on disk the same way everywhere: "12.3 MB", "48 KB"."""
    return f"{n_bytes / 2 ** 20:.1f} MB" if n_bytes >= 2 ** 20 else f"{max(1, round(n_bytes / 1024))} KB"


def counted(count: int, noun: str, plural: Optional[str] = None) -> str:
    """"1 run", "3 runs", "1,797 images": a count and its noun in the right number."""
    return f"{int(count):,} {noun if int(count) == 1 else plural or noun + 's'}"


def run_name(name: str, run_id: Optional[int] = None) -> str:
    """A run's name without the " #7" a default name ("k-means on digits #7") ends with, for where the run's
    number is said beside it: "#7 · k-means on digits", not "#7 · k-means on digits #7"."""
    suffix = f" #{run_id}"
    return name[:-len(suffix)] if run_id is not None and name.endswith(suffix) and len(name) > len(suffix) else name


def run_title(run_id: Optional[int], name: str) -> str:
    """"#7 · k-means on digits": a run's number and name, each said once (the name alone without a number)."""
    return f"#{run_id} · {run_name(name, run_id)}" if run_id is not None else name


def run_seconds(timings: Mapping) -> float:
    """A run's duration: the sum of its timed phases (the one number every page shows)."""
    return float(sum(v for k, v in timings.items() if k != "total")) if len(timings) > 1 or "total" not in timings \
        else float(timings["total"])


def sample_name(data, position: int) -> str:
    """One image as a user knows it: its file's base name for a saved dataset, else "#<dataset index>"."""
    if data.file_names is None:
        return f"#{int(data.indices[position])}"
    return str(data.file_names[position]).replace("\\", "/").rsplit("/", 1)[-1]


def sample_captions(data, positions) -> tuple[list, list]:
    """(captions, hover texts) of gallery tiles: file name (or index) and true label; the hover text has
    the full file path."""
    captions, hovers = [], []
    for i in positions:
        label = f" · {data.label_name(int(data.labels[i]))}" if data.has_labels else ""
        captions.append(f"{sample_name(data, i)}{label}")
        hovers.append(f"{data.file_name(i) if data.file_names is not None else sample_name(data, i)}{label}")
    return captions, hovers


def gallery_caption_note(data) -> str:
    """What the captions of a gallery say, in a sentence."""
    what = "file name" if data.file_names is not None else "dataset index"
    return f"Captions: {what} · label." if data.has_labels else f"Captions: {what}."


def column_label(column: str, table=None) -> str:
    """What the user sees for a column of :func:`runs_table`: "Number of clusters" for `k`, "Images",
    "Algorithm", "Duration (s)", a parameter's label for `p:<name>` (the label the algorithms using it
    among `table`'s runs give it when they agree, else its plain shared label), metrics as they are."""
    fixed = {"k": "n_clusters", "images": "images", "algorithm": "algorithm"}
    if column in fixed:
        return setting_label(fixed[column])
    if column == "seconds":
        return "Duration (s)"
    if column == "silhouette space":
        return "Silhouette space"
    if not column.startswith("p:"):
        return column
    name = column[2:]
    if table is not None and column in table and "algorithm" in table:
        users = algorithm_names(table.loc[table[column].notna(), "algorithm"])
        labels = {setting_label(name, algorithm) for algorithm in users}
        if len(labels) == 1:
            return labels.pop()
    return setting_label(name)


def algorithm_names(titles) -> list[str]:
    """Registry names of the algorithms whose titles (the table's "algorithm" column) are `titles`."""
    by_title = {spec.title: name for name, spec in ALGORITHMS.items()}
    return sorted({by_title.get(t, t) for t in titles})


def value_text(column: str, value) -> str:
    """A cell of the runs table as the pages print it ("-" where the run did not use the setting)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "p:preprocessing":
        return preprocessing_label(str(value))
    if column in METRICS:
        return f"{float(value):.3f}"
    return format_value(value.item() if isinstance(value, np.generic) else value)
