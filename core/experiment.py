"""One clustering run from configuration to result: load, subsample, preprocess, fit, score, project.

The dashboard, the tests and the benchmark all go through :func:`run_experiment`, so a run made in
one place can be reproduced in another from its :class:`RunConfig`.
"""
from __future__ import annotations

import hashlib
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Optional

import numpy as np

from core.algorithms import DEFAULT_ALGORITHM, get_algorithm
from core.algorithms.watch import FrameRecorder
from core.data import (DATASETS, DEFAULT_DATASET, DEFAULT_PREPROCESSING, PREPROCESSING, Dataset, load_dataset, preprocess,
                       stratified_subsample)
from core.metrics import SILHOUETTE_MAX_SAMPLES, MetricReport, Silhouette, evaluate, silhouette
from core.params import ParameterError
from core.progress import PhaseReporter, ProgressCallback, RunProgress, TrainingCancelled
from core.projection import PROJECTIONS, UMAP_FITS, project_2d, projection_sample, umap_embed, umap_is_warm
from core.vocabulary import cluster_name, embedding_space, format_seconds, run_seconds, setting_label


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to repeat a run.

    `n_clusters` None means "the number of classes when known, else 10"; `n_samples` None means the
    whole dataset, otherwise a stratified subset drawn with `subset_seed` (fixed, so runs with
    different seeds see the same images); `params` are the algorithm's own (see its ParamSpecs).
    `mixed_precision` trains the run's network in float16 with float32 weights (faster on recent NVIDIA GPUs;
    records made before it read False). `projection_fit` is what the 2-D UMAP projection is fitted on
    (:data:`core.projection.UMAP_FITS`: "auto" fits a sample of a large embedding and places the rest).
    """

    dataset: str = DEFAULT_DATASET
    algorithm: str = DEFAULT_ALGORITHM
    n_clusters: Optional[int] = None
    params: dict = field(default_factory=dict)
    n_samples: Optional[int] = None
    preprocessing: str = DEFAULT_PREPROCESSING
    seed: int = 0
    projection: Optional[str] = "umap"
    dataset_options: dict = field(default_factory=dict)
    subset_seed: int = 0
    mixed_precision: bool = False
    projection_fit: str = "auto"


@dataclass
class ClusteringResult:
    """A finished run: what the pages show, independent of the algorithm that made it."""

    config: RunConfig
    dataset: Dataset
    labels: np.ndarray
    embedding: np.ndarray
    n_clusters: int
    estimator_params: dict
    history: list
    timings: dict
    metrics: MetricReport
    projections: dict = field(default_factory=dict)
    started_at: str = ""
    versions: dict = field(default_factory=dict)
    view_data: dict = field(default_factory=dict)
    run_id: Optional[int] = None   # its id in the run store, once recorded there
    cluster_names: dict = field(default_factory=dict)  # {cluster id: name} a person gave (hand corrections)
    parent_id: Optional[int] = None  # the run this one corrects by hand, if any
    # Pictures of a sample taken while the network trained (core.progress.Frame), the first carrying the
    # sample; empty where nothing trained (a classical method, a reused autoencoder) or for runs made before.
    frames: list = field(default_factory=list, repr=False, compare=False)
    # The fitted estimator, kept only in the process that trained it (to save its model): Keras models
    # do not travel between processes, so pickling drops it.
    estimator: object = field(default=None, repr=False, compare=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["estimator"] = None
        return state

    @property
    def spec(self):
        return get_algorithm(self.config.algorithm)

    @property
    def algorithm_title(self) -> str:
        return self.spec.title

    @property
    def total_seconds(self) -> float:
        """The run's duration: its timed phases (the same number on every page)."""
        return run_seconds(self.timings)

    def projection(self, method: str = "umap") -> np.ndarray:
        """The 2-D projection of the embedding by `method`, computed once and then kept.

        A projection asked for later (a page switching to PCA) is not added to the run's timings, so
        the run's duration stays the same on every page.
        """
        if method not in self.projections:
            self.projections[method] = project_2d(self.embedding, method, random_state=self.config.seed,
                                                  fit=self.config.projection_fit)
        return self.projections[method]

    def projection_title(self, method: str) -> str:
        """"UMAP of the autoencoder embedding (10-d)": what a projection chart shows. A space that is a
        UMAP manifold already (N2D) reads "The UMAP manifold (10-d), drawn in 2-D by UMAP"."""
        name, space = PROJECTIONS.get(method, method), self.silhouette_space
        sample = projection_sample(np.shape(self.embedding), method, self.config.projection_fit)
        fitted = f" (fitted on {sample:,} of the {len(self.embedding):,} points)" if sample else ""
        if space.startswith("UMAP manifold"):
            return f"The {space}, drawn in 2-D by {name}{fitted}"
        return f"{name} of the {space}{fitted}"

    @property
    def silhouette_space(self) -> str:
        return self.metrics.silhouette.space or embedding_space(self.config.algorithm, self.config.params,
                                                                 self.embedding.shape[-1])

    def cluster_label(self, cluster) -> str:
        """The name a person gave `cluster`, else "cluster 3" / "noise"."""
        return cluster_name(cluster, self.cluster_names)

    def with_labels(self, labels: np.ndarray, cluster_names: Optional[dict] = None) -> "ClusteringResult":
        """This run with other labels (a hand correction): scored again as the run was (the silhouette in
        the same space, with the same seed); not in the store (`run_id` None), derived from this run."""
        labels = np.asarray(labels)
        if labels.shape != self.labels.shape:
            raise ValueError(f"{len(labels)} labels for a run of {len(self.labels)} images")
        metrics = evaluate(labels, np.asarray(self.embedding), self.dataset.labels, random_state=self.config.seed,
                           space=self.metrics.silhouette.space or self.silhouette_space)
        derived = replace(self, labels=labels, metrics=metrics, cluster_names=dict(cluster_names or {}),
                          projections=dict(self.projections), run_id=None, parent_id=self.run_id, estimator=None)
        derived.metrics = replace(metrics, umap_silhouette=umap_silhouette(derived))  # on the run's own map
        return derived

    def cluster_sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """(cluster ids, member counts), sorted by cluster id."""
        return np.unique(self.labels, return_counts=True)

    def members(self, cluster: int) -> np.ndarray:
        """Positions (into this run's data) of the samples in `cluster`."""
        return np.flatnonzero(self.labels == cluster)

    def degenerate_note(self) -> str:
        """A warning when the clustering uses fewer clusters than were asked for ("" otherwise)."""
        found = self.metrics.n_clusters_found
        if not self.spec.uses_n_clusters or found >= self.n_clusters:
            return ""
        hint = (" With the deep methods this usually means the autoencoder was pretrained too briefly or the "
                "clustering phase collapsed: try more epochs, or a lower learning rate.") if self.spec.deep else ""
        return f"Only {found} of the {self.n_clusters} clusters asked for hold any images.{hint}"

    def description(self) -> str:
        """"Autoencoder + k-means on digits · 1,797 images · 10 clusters · 72.1 s": the run without scores."""
        return (f"{self.algorithm_title} on {self.config.dataset} · {self.dataset.n_samples:,} images · "
                f"{self.n_clusters} clusters · {format_seconds(self.total_seconds)}")

    def summary(self) -> str:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in self.metrics.as_dict().items() if v is not None)
        return (f"{self.algorithm_title} on {self.config.dataset} ({self.dataset.n_samples:,} images, "
                f"{self.n_clusters} clusters): {scores}.")


def library_versions() -> dict:
    import sklearn

    versions = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}
    for name in ("tensorflow", "keras", "umap"):
        module = sys.modules.get(name)  # only what the run used: importing TensorFlow here costs seconds
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    devices = sys.modules.get("core.models.devices")  # loaded where a network trained: say on what
    if devices is not None:
        versions["device"] = devices.training_device()
    return versions


def prepare_data(config: RunConfig, dataset: Optional[Dataset] = None) -> tuple[Dataset, np.ndarray]:
    """The (subsampled) dataset of a run and its preprocessed images."""
    if dataset is None:
        dataset = load_dataset(config.dataset, **config.dataset_options)
    dataset = stratified_subsample(dataset, config.n_samples, seed=config.subset_seed)
    return dataset, preprocess(dataset.images, config.preprocessing)


def default_n_clusters(dataset: Dataset) -> int:
    return dataset.n_classes or 10


MAX_SEED = 2**32 - 1   # NumPy's and scikit-learn's seeds are 32-bit
MIN_RUN_SAMPLES = 10   # as for an uploaded dataset: fewer cannot be clustered meaningfully


def whole_number(label: str, value, low: int, high: Optional[int] = None, note: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{label} must be a whole number; got {value!r}.")
    if value < low or (high is not None and value > high):
        allowed = f"from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
        raise ValueError(f"{label} must be {allowed}{note}; got {value:,}.")


def check_config(config: RunConfig, dataset: Optional[Dataset] = None) -> Dataset:
    """Check every setting of `config` against its algorithm and its data, and build the estimator,
    before anything is trained or recorded. Returns the dataset (loaded when not given).

    Raises ValueError naming the setting as the form labels it and what it allows; KeyError for an
    unknown algorithm or dataset; DatasetUnavailable when the data cannot be loaded.
    """
    spec = check_settings(config)
    if dataset is None:
        dataset = load_dataset(config.dataset, **config.dataset_options)
    n_used = dataset.n_samples if config.n_samples is None else config.n_samples
    if n_used > dataset.n_samples:
        raise ValueError(f"Sample size must be at most {dataset.n_samples:,}, the size of {config.dataset} "
                         f"(leave it out for all); got {n_used:,}.")
    if n_used < MIN_RUN_SAMPLES:
        raise ValueError(f"{config.dataset} has {n_used} samples; at least {MIN_RUN_SAMPLES} are needed.")
    n_clusters = config.n_clusters or default_n_clusters(dataset)
    if spec.uses_n_clusters and n_clusters >= n_used:  # as many clusters as images is no clustering at all
        raise ValueError(f"Number of clusters must be less than {n_used:,}, the samples of this run; "
                         f"got {n_clusters:,}.")
    n_features = int(np.prod(dataset.images.shape[1:]))
    try:
        spec.build(n_clusters, random_state=config.seed, **config.params).check_parameters(n_used, n_features)
    except ParameterError as error:  # said with the labels the form and the command line show
        raise ValueError(error.say(lambda name: setting_label(name, config.algorithm))) from None
    return dataset


def check_settings(config: RunConfig):
    """Check the settings of `config` that need no data (every value of the right kind and in its range,
    no setting or dataset option its algorithm or dataset does not have); returns the algorithm's spec.
    The first half of :func:`check_config`, for a record whose data cannot be loaded here."""
    spec = get_algorithm(config.algorithm)
    if not isinstance(config.params, dict) or not isinstance(config.dataset_options, dict):
        raise ValueError("an algorithm's settings and a dataset's options are each a table of named values.")
    if config.n_clusters is not None:
        whole_number("Number of clusters", config.n_clusters, 2)
    whole_number("Seed", config.seed, 0, MAX_SEED)
    if config.n_samples is not None:
        whole_number("Sample size", config.n_samples, MIN_RUN_SAMPLES)
    if config.preprocessing not in PREPROCESSING:
        raise ValueError(f"Preprocessing must be one of {', '.join(PREPROCESSING)}; got {config.preprocessing!r}.")
    if config.projection is not None and config.projection not in PROJECTIONS:
        raise ValueError(f"Projection must be one of {', '.join(PROJECTIONS)} or none; got {config.projection!r}.")
    if not isinstance(config.mixed_precision, bool):
        raise ValueError(f"Mixed precision must be true or false; got {config.mixed_precision!r}.")
    if config.projection_fit not in UMAP_FITS:
        raise ValueError(f"The projection's UMAP is fitted on one of {', '.join(UMAP_FITS)}; "
                         f"got {config.projection_fit!r}.")
    unknown = sorted(set(config.params) - {p.name for p in spec.params})
    if unknown:
        raise ValueError(f"{spec.title} has no setting {', '.join(unknown)}; its settings: "
                         f"{', '.join(p.name for p in spec.params) or 'none'}.")
    for name, value in config.params.items():
        spec.param(name).check(value)
    # A run takes only the options its dataset declares (a saved dataset has none): the loaders take a few
    # more (a seed, an image size) for code to use, which a record must not reach (an image size of 100,000
    # would allocate tens of gigabytes before anything else is checked).
    options = {p.name: p for p in DATASETS[config.dataset].options} if config.dataset in DATASETS else {}
    for name, value in config.dataset_options.items():
        if name not in options:
            raise ValueError(f"{config.dataset} has no option {name!r}; its options: {', '.join(options) or 'none'}.")
        options[name].check(value)
    return spec


def run_experiment(config: RunConfig, *, callback: Optional[ProgressCallback] = None,
                   dataset: Optional[Dataset] = None, library=None, frames: bool = True) -> ClusteringResult:
    """Run `config` and return its result (metrics and the configured projection included).

    `dataset` may pass an already loaded dataset (the app caches them); it must be the one
    `config.dataset` names. `callback` gets progress events of every phase and may raise
    :class:`TrainingCancelled` to stop. `library` (e.g. the run store's library of pretrained
    autoencoders) goes to the estimator's `fit`: a method whose autoencoder was trained before on the
    same data with the same settings starts from it. `frames`: take pictures of a sample while a network
    trains (:class:`core.algorithms.watch.FrameRecorder`), each sent on its epoch's end event and kept in
    ``result.frames``; the clustering is the same either way.

    Raises
    ------
    ValueError
        For invalid parameters or data (the message says which and why).
    DatasetUnavailable
        When the dataset cannot be loaded.
    TrainingCancelled
        When the callback cancels.
    """
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    timings: dict = {}
    dataset, X = _timed_step(timings, "load", PhaseReporter(RunProgress(callback, [("load", 1.0)]), "load"),
                             "Preparing the data", lambda: prepare_data(config, check_config(config, dataset)))
    recorder = (FrameRecorder(len(X), config.n_clusters or default_n_clusters(dataset), seed=config.seed,
                              truth=dataset.labels if dataset.has_labels else None) if frames else None)
    estimator, callback = _fit(config, dataset, X, callback, library, recorder)
    timings.update(estimator.timings_)
    metrics = _timed_step(timings, "evaluate", PhaseReporter(callback, "evaluate"), "Scoring the clustering",
                          lambda: evaluate(estimator.labels_, np.asarray(estimator.embedding_), dataset.labels,
                                           random_state=config.seed, space=estimator.embedding_space_))
    n_clusters = (config.n_clusters or default_n_clusters(dataset) if get_algorithm(config.algorithm).uses_n_clusters
                  else int(len(np.unique(estimator.labels_[estimator.labels_ >= 0]))))
    result = ClusteringResult(
        config=config, dataset=dataset, labels=estimator.labels_, embedding=estimator.embedding_,
        n_clusters=n_clusters, estimator_params=estimator.get_params(), history=list(estimator.history_),
        timings=timings, metrics=metrics, started_at=started_at, versions=library_versions(),
        view_data=estimator.view_data(), estimator=estimator, frames=list(recorder.frames) if recorder else [],
    )
    if config.projection:
        note = "" if config.projection != "umap" or umap_is_warm() else " (first time in this process: compiling, about 20-30 s)"
        _timed_step(timings, f"project_{config.projection}", PhaseReporter(callback, "project"),
                    f"Projecting the embedding to 2-D with {PROJECTIONS[config.projection]}{note}",
                    lambda: result.projection(config.projection), done="Projection done")
    # Timed as scoring. UMAP is compiled by now: the images' map costs 2-6 s, once per set of images in a process.
    PhaseReporter(callback, "project")("Scoring the clusters on a map of the images (UMAP silhouette)", 1.0)
    start = time.perf_counter()
    result.metrics = replace(metrics, umap_silhouette=umap_silhouette(result, X))
    timings["evaluate"] += time.perf_counter() - start
    return result


IMAGES_MAP_SAMPLES = SILHOUETTE_MAX_SAMPLES   # images on the map the UMAP silhouette is computed on
_IMAGES_MAPS: dict = {}   # the last few maps made in this process, by the images they show
_IMAGES_MAPS_KEPT = 4


def images_map(X: np.ndarray, *, max_samples: int = IMAGES_MAP_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """(rows, points): a 2-D UMAP (15 neighbours, min_dist 0.1, seed 0) of the preprocessed images `X`, or of a
    fixed sample of `max_samples` of them (seed 0); `rows` are the sampled positions. It depends on the images
    only, so every run on the same images is scored on the same map; the last few are kept in this process."""
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    rows = (np.arange(len(X)) if len(X) <= max_samples
            else np.sort(np.random.default_rng(0).choice(len(X), max_samples, replace=False)))
    sample = np.ascontiguousarray(X[rows])
    key = (sample.shape, hashlib.sha1(sample.tobytes()).hexdigest())
    if key not in _IMAGES_MAPS:
        while len(_IMAGES_MAPS) >= _IMAGES_MAPS_KEPT:
            _IMAGES_MAPS.pop(next(iter(_IMAGES_MAPS)))
        _IMAGES_MAPS[key] = umap_embed(sample, 2, random_state=0)
    return rows, _IMAGES_MAPS[key]


# Where a run keeps the map its UMAP silhouette was computed on (saved with the run's view data, so that a hand
# correction, made in the web server, is scored again on the same map without a UMAP there).
MAP_POINTS, MAP_ROWS = "score_map_points", "score_map_rows"


def umap_silhouette(result: ClusteringResult, X: Optional[np.ndarray] = None) -> Silhouette:
    """The silhouette of `result`'s clusters on a 2-D UMAP map of its images `X` (preprocessed as the run was;
    :func:`images_map`): the score without labels runs are ranked by when there are no true labels. The map is
    the same for every run on the same images, so unlike the silhouette in each clustering's own space it
    compares runs of different methods and latent sizes, and it tracked NMI best of the scores measured
    (docs/label-free.md). Not the run's own 2-D picture: a UMAP of N2D's tight manifold scatters its clusters.

    The map is kept in ``result.view_data`` and used again when it is there (`X` is then not needed: a hand
    correction). It is made only for runs projected with UMAP (its compilation is paid there); a run projected
    with PCA, or not at all, gets an empty score that says why, and such runs rank by the silhouette in their
    own space (:data:`core.metrics.RANKING_METRICS`)."""
    labels = np.asarray(result.labels)
    n_total = int(np.sum(labels != -1))
    if MAP_POINTS not in result.view_data:
        if result.config.projection != "umap":
            how = (f"projected with {PROJECTIONS[result.config.projection]}" if result.config.projection
                   else "not projected")
            return Silhouette(None, 0, n_total, f"this run was {how}; the UMAP silhouette is computed for runs "
                                                "projected with UMAP.")
        if X is None:
            return Silhouette(None, 0, n_total, "the run this one comes from was made before the UMAP silhouette "
                                                "was kept.")
        result.view_data[MAP_ROWS], result.view_data[MAP_POINTS] = images_map(X)
    rows, points = np.asarray(result.view_data[MAP_ROWS]), np.asarray(result.view_data[MAP_POINTS])
    where = f"a 2-D UMAP of the images{'' if len(rows) == len(labels) else f' ({len(rows):,} sampled)'}"
    return replace(silhouette(points, labels[rows], random_state=result.config.seed, space=where), n_total=n_total)


def _fit(config: RunConfig, dataset: Dataset, X: np.ndarray, callback, library, recorder=None):
    """The configured estimator fitted on `X`, and the run's progress callback (its phases, the
    estimator's own among them, weighted so that the bar moves evenly)."""
    n_clusters = config.n_clusters or default_n_clusters(dataset)
    estimator = get_algorithm(config.algorithm).build(n_clusters, random_state=config.seed, **config.params)
    projection_weight = {"umap": 12.0, "pca": 0.5}.get(config.projection, 0.0)
    progress = RunProgress(callback, [("load", 1.0), *estimator.progress_plan(), ("evaluate", 1.0),
                                      ("project", projection_weight)])
    callback = progress if callback is not None else None
    estimator.fit(X, callback=callback, library=library, recorder=recorder, mixed_precision=config.mixed_precision)
    return estimator, callback


def _timed_step(timings: dict, phase: str, report, message: str, step, *, done: Optional[str] = None):
    """Run `step()` as phase `phase`: reported as `message` (then `done`, when given), its seconds kept in
    `timings`; returns what it returns."""
    report(message, 0.0)
    start = time.perf_counter()
    value = step()
    timings[phase] = time.perf_counter() - start
    if done is not None:
        report(done, 1.0)
    return value


__all__ = ["ClusteringResult", "RunConfig", "TrainingCancelled", "check_config", "default_n_clusters", "prepare_data",
           "run_experiment", "asdict"]
