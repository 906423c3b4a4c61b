"""Sweeps on a Ray cluster: each point of the grid a Ray task, recorded here as it starts and ends.

The process that starts the sweep (the command line, or the dashboard's training process) is Ray's driver.
It sends each task its data with ``ray.put`` (validated arrays, loaded here: the cluster's nodes do not share
this machine's disk) and, where the store keeps an autoencoder the run would reuse, that network's weights;
the task runs :func:`core.experiment.run_experiment` and sends back plain arrays and tables (labels,
embedding, projections, scores, history, timings, the saved model's files), which the driver records in its
own run store with :meth:`RunStore.finish_run`, so the runs are the same records and files as runs made here.

Ray moves objects between nodes with pickle, and its token authentication (when on) does not encrypt: the
cluster must be the user's own (docs/ray.md). Ray is optional (requirements-ray.txt).
"""
from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Optional, Sequence

import numpy as np

import core
from core.algorithms import get_algorithm
from core.algorithms.spaces import pretrain_key
from core.data import Dataset, preprocess, stratified_subsample
from core.experiment import ClusteringResult, RunConfig, check_config, default_n_clusters, run_experiment
from core.metrics import metric_report_from_record
from core.progress import ProgressThrottle, TrainingCancelled, frames_from_arrays, frames_to_arrays
from core.runs.artifacts import write_model
from core.runs.liveness import HEARTBEAT_SECONDS
from core.runs.runner import describe_point, history_entry, save_finished, sweep_configs
from core.runs.shelf import ShelfEntry
from core.runs.status import CANCELLED, FAILED, FINISHED, INTERRUPTED, QUEUED, RUNNING
from core.runs.store import RunStore

try:
    import ray
    from ray.exceptions import RayError, RayTaskError, TaskCancelledError
except ImportError:  # optional: requirements-ray.txt
    ray = None

RAY_ADDRESS_ENV = "DEEP_CLUSTERING_RAY_ADDRESS"  # the server's cluster; its Sweeps page then offers to run there
RAY_MISSING = "Ray is not installed: pip install -r requirements-ray.txt"
POLL_SECONDS = 0.25      # how often the driver looks for ended tasks, progress and cancels
CANCEL_GRACE = 3.0       # a task asked to stop that is still there after this is stopped by force
PROGRESS = "progress"    # the kind of a report that carries a progress event


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be joined."""


class RunFailed(Exception):
    """A point of a Ray sweep that failed: its message is what its run record says."""


def configured_address() -> str:
    """The Ray cluster the server was started with (:data:`RAY_ADDRESS_ENV`; "" when none)."""
    return os.environ.get(RAY_ADDRESS_ENV, "").strip()


def ray_installed() -> bool:
    return ray is not None


def runtime_env() -> dict:
    """What every task's process gets: this project's ``core`` package (the nodes need the same Python, Ray
    and requirements installed, not the project)."""
    return {"py_modules": [str(Path(core.__file__).parent)], "excludes": ["__pycache__"]}


def connect(address: str) -> None:
    """Join the Ray cluster at `address` (as ``ray.init`` takes it: "auto", "ray://host:10001"; "local" starts
    one on this machine), once per process. Raises RayUnavailable when Ray is missing or the cluster cannot
    be joined."""
    if ray is None:
        raise RayUnavailable(RAY_MISSING)
    if ray.is_initialized():
        return
    try:  # a local instance needs no dashboard; joining a cluster, its own settings hold
        ray.init(address=address, runtime_env=runtime_env(), log_to_driver=False, logging_level=logging.WARNING,
                 **({"include_dashboard": False} if address == "local" else {}))
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayUnavailable(f"cannot join the Ray cluster at {address!r}: {error}") from None


def task_resources(config: RunConfig) -> dict:
    """What one point asks of the cluster: one CPU, and one GPU for a deep method when the cluster has any."""
    deep = get_algorithm(config.algorithm).deep
    return {"num_cpus": 1, "num_gpus": 1 if deep and ray.cluster_resources().get("GPU", 0) >= 1 else 0}


# -- the task: runs on a node of the cluster --------------------------------------------------------------
class LentLibrary:
    """The library of pretrained autoencoders a task fits with: the networks the driver lent ({key: (weights,
    info)}), and those the task trained to the end (``kept``, sent back to be kept in the driver's store).
    No backbone features: a node computes its own."""

    features = None

    def __init__(self, lent: dict):
        self.lent, self.kept = lent, {}

    def load_into(self, key: str, autoencoder) -> Optional[ShelfEntry]:
        if key not in self.lent:
            return None
        weights, info = self.lent[key]
        try:
            autoencoder.set_weights(weights)
        except ValueError:  # not this network after all: trained as usual
            return None
        return ShelfEntry(key, info)

    def keep(self, key: str, autoencoder, info: dict) -> bool:
        self.kept[key] = (autoencoder.get_weights(), info)
        return True


class Inbox:
    """Where tasks leave their reports for the driver, as a Ray actor (no CPU of its own). A task sends without
    waiting (``inbox.put.remote``): a task waiting on Ray lends its CPU back, and another would start on it."""

    def __init__(self):
        self.items: list = []

    def put(self, item) -> None:
        self.items.append(item)

    def take(self) -> list:
        items, self.items = self.items, []
        return items


class _Forward:
    """A task's progress, sent to the driver as the dashboard's training process throttles its own
    (:class:`core.progress.ProgressThrottle`), at most every half second between epoch ends: it crosses the network."""

    def __init__(self, inbox, index: int, interval: float = 0.5):
        self.inbox, self.index, self.throttle = inbox, index, ProgressThrottle(interval)

    def __call__(self, event) -> None:
        if self.throttle.passes(event):
            self.inbox.put.remote((self.index, PROGRESS, event))


def train_point(index: int, config: RunConfig, dataset: Dataset, lent: dict, inbox) -> dict:
    """The compute half of a run, as a Ray task: `config` run on `dataset` (its progress left in `inbox`), and
    what the driver records, as plain arrays, tables and the model's files."""
    inbox.put.remote((index, RUNNING, {"host": socket.gethostname(), "pid": os.getpid()}))
    library = LentLibrary(lent)
    result = run_experiment(config, callback=_Forward(inbox, index), dataset=dataset, library=library)
    with tempfile.TemporaryDirectory() as folder:
        write_model(Path(folder) / "model", result.estimator)
        model = {path.relative_to(Path(folder) / "model").as_posix(): path.read_bytes()
                 for path in sorted((Path(folder) / "model").rglob("*")) if path.is_file()}
    return {"labels": np.asarray(result.labels), "embedding": np.asarray(result.embedding),
            "indices": np.asarray(result.dataset.indices), "n_clusters": int(result.n_clusters),
            "estimator_params": result.estimator_params, "history": result.history, "timings": result.timings,
            "metrics": result.metrics.to_record(), "projections": dict(result.projections),
            "started_at": result.started_at, "versions": result.versions, "view_data": result.view_data,
            "frames": frames_to_arrays(result.frames) if result.frames else None, "model": model,
            "pretrained_reused": bool(getattr(result.estimator, "pretrained_reused_", False)),
            "kept": library.kept}


# -- the driver: here ---------------------------------------------------------------------------------------
@dataclass
class SavedModel:
    """A model saved by a task, as its files ({relative path: bytes}): what ``finish_run`` writes as the run's
    ``model/`` folder, in place of an estimator's own :meth:`save`."""

    files: dict
    pretrained_reused_: bool = False

    def save(self, folder, *, training_arrays: bool = False) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            parts = PurePosixPath(name).parts
            if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
                raise ValueError(f"a task sent a model file named {name!r}, outside the model's folder.")
            target = folder.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


class _Weights:
    """Weights as a network lends and takes them (``get_weights`` / ``set_weights``), without the network."""

    def __init__(self, weights=None):
        self.weights = weights

    def get_weights(self) -> list:
        return self.weights

    def set_weights(self, weights) -> None:
        self.weights = [np.asarray(w) for w in weights]


def lent_autoencoders(store: RunStore, config: RunConfig, dataset: Dataset) -> dict:
    """{key: (weights, info)}: the autoencoder of `store` that `config` would reuse here, if it keeps one."""
    library = store.autoencoders
    if not library.entries():
        return {}
    data = stratified_subsample(dataset, config.n_samples, seed=config.subset_seed)
    X = preprocess(data.images, config.preprocessing)
    estimator = get_algorithm(config.algorithm).build(config.n_clusters or default_n_clusters(data),
                                                      random_state=config.seed, **config.params)
    space = estimator.space_for(X)  # the space its fit would build
    if space.kind != "autoencoder":
        return {}
    space.mixed_precision = config.mixed_precision  # part of the network's key: a float16 one is another network
    inputs = space.inputs(X)
    key, weights = pretrain_key(space.settings(len(inputs)), inputs), _Weights()
    entry = library.load_into(key, weights)
    return {} if entry is None else {key: (weights.weights, entry.info)}


def result_from_task(config: RunConfig, dataset: Dataset, sent: dict) -> ClusteringResult:
    """The ClusteringResult of a point from what its task sent (and the images, here); ValueError when the
    arrays are not one per image of the run."""
    data = stratified_subsample(dataset, config.n_samples, seed=config.subset_seed)
    n = data.n_samples
    if not np.array_equal(np.asarray(sent["indices"]), data.indices):
        raise ValueError("the task clustered other images than this run's.")
    labels, embedding = np.asarray(sent["labels"]), np.asarray(sent["embedding"])
    projections = {name: np.asarray(points) for name, points in sent["projections"].items()}
    if labels.shape != (n,) or embedding.ndim != 2 or len(embedding) != n or any(
            p.shape != (n, 2) for p in projections.values()):
        raise ValueError(f"the task sent arrays that are not one per image of the run's {n:,}.")
    return ClusteringResult(
        config=config, dataset=data, labels=labels, embedding=embedding, n_clusters=int(sent["n_clusters"]),
        estimator_params=dict(sent["estimator_params"]), history=list(sent["history"]), timings=dict(sent["timings"]),
        metrics=metric_report_from_record(sent["metrics"]), projections=projections, started_at=sent["started_at"],
        versions=dict(sent["versions"]), view_data=dict(sent["view_data"]),
        frames=frames_from_arrays(sent["frames"]) if sent["frames"] is not None else [])


@dataclass
class _Point:
    """One point of the sweep, as the driver follows it."""

    index: int
    config: RunConfig
    name: str
    ref: object = None
    run_id: Optional[int] = None
    started: float = 0.0
    history: list = field(default_factory=list)
    cancel_asked: Optional[float] = None   # when (time.monotonic)
    forced: bool = False
    recorded: bool = False   # how it ended is recorded and reported
    gone: bool = False       # its task has ended on the cluster


Report = Callable[[int, str, object], None]


class RayDriver:
    """Runs a sweep's points as Ray tasks and records them in `store` under `sweep_id` as they start and end.

    `report(index, kind, payload)` hears of each point: QUEUED, RUNNING (its run id), PROGRESS (a
    ProgressEvent), FINISHED (its ClusteringResult), FAILED (the message), CANCELLED (None). `stop_requests()`,
    asked every POLL_SECONDS, names the points to cancel; it may raise ProcessStopped or KeyboardInterrupt,
    which cancel every task, mark the runs started as interrupted and go on up.
    """

    def __init__(self, store: RunStore, configs: Sequence[RunConfig], names: Sequence[str], sweep_id: Optional[int],
                 *, dataset: Dataset, report: Optional[Report] = None,
                 stop_requests: Callable[[], set] = frozenset):
        if ray is None:
            raise RayUnavailable(RAY_MISSING)
        self.store, self.sweep_id, self.dataset = store, sweep_id, dataset
        self.points = [_Point(i, config, name) for i, (config, name) in enumerate(zip(configs, names))]
        self.report = report or (lambda index, kind, payload: None)
        self.stop_requests = stop_requests
        self.outcomes: list = [None] * len(self.points)
        self.workers: dict = {}  # {index: (host, process id)} of the Ray worker each point started in

    def run(self) -> list:
        """Run every point; returns the outcomes in grid order: a ClusteringResult (run_id set), RunFailed or
        TrainingCancelled."""
        self.inbox = ray.remote(num_cpus=0)(Inbox).remote()
        try:
            self._submit()
            self._follow()
        except BaseException:
            self._stop_all()
            raise
        finally:
            ray.kill(self.inbox)
        return self.outcomes

    def _submit(self) -> None:
        data = ray.put(self.dataset)
        task = ray.remote(train_point)
        for point in self.points:
            lent = lent_autoencoders(self.store, point.config, self.dataset)
            point.ref = task.options(max_retries=0, **task_resources(point.config)).remote(
                point.index, point.config, data, lent, self.inbox)
            self.report(point.index, QUEUED, None)

    def _follow(self) -> None:
        last_beat = time.monotonic()
        while not all(point.gone for point in self.points):
            waiting = {point.ref: point for point in self.points if not point.gone}
            ready, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=POLL_SECONDS)
            self._take_events()
            for ref in ready:
                waiting[ref].gone = True
                if not waiting[ref].recorded:
                    self._ended(waiting[ref])
            self._cancel(self.stop_requests())
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                for point in self.points:
                    if point.run_id is not None and not point.recorded:
                        self.store.beat(point.run_id)

    def _take_events(self) -> None:
        """The reports tasks left since the last look: runs started (recorded now), progress."""
        for index, kind, payload in ray.get(self.inbox.take.remote()):
            point = self.points[index]
            if point.recorded:
                continue
            if kind == RUNNING:
                self.workers[index] = (payload["host"], payload["pid"])
                self._start(point)
            elif kind == PROGRESS:
                entry = history_entry(payload)
                if entry is not None:
                    point.history.append(entry)
                self.report(index, PROGRESS, payload)

    def _start(self, point: _Point) -> None:
        if point.run_id is None:
            point.run_id = self.store.start_run(point.config, name=point.name, sweep_id=self.sweep_id)
            point.started = time.perf_counter()
            self.report(point.index, RUNNING, point.run_id)

    def _end(self, point: _Point, status: str, message: str) -> None:
        """Record a point that did not finish (one never started has no record, as a cancelled queued run)."""
        point.recorded = True
        if point.run_id is not None:
            self.store.end_run(point.run_id, status, message=message, history=point.history,
                               timings={"total": time.perf_counter() - point.started})
        self.outcomes[point.index] = TrainingCancelled(message) if status == CANCELLED else RunFailed(message)
        self.report(point.index, status, None if status == CANCELLED else message)

    def _ended(self, point: _Point) -> None:
        """A task that ended: record its run finished, failed (with the reason) or cancelled."""
        try:
            sent = ray.get(point.ref)
        except TaskCancelledError:
            return self._end(point, CANCELLED, "Cancelled on the Ray cluster.")
        except RayTaskError as error:
            self._start(point)
            return self._end(point, FAILED, str(error.cause) or type(error.cause).__name__)
        except RayError as error:  # the worker died (killed, out of memory), or its node was lost
            self._start(point)
            return self._end(point, FAILED, f"The Ray worker running it died: {_first_line(error)}")
        self._start(point)
        try:
            result = result_from_task(point.config, self.dataset, sent)
            save_finished(self.store, point.run_id, result, SavedModel(sent["model"], sent["pretrained_reused"]),
                          lambda status, message: self._end(point, status, message))
        except Exception as error:
            if not point.recorded:
                self._end(point, FAILED, f"The run finished on the cluster but its result could not be read: {error}")
            return
        library = self.store.autoencoders.with_context(dataset=point.config.dataset)
        for key, (weights, info) in sent["kept"].items():
            library.keep(key, _Weights(weights), info)
        result.run_id, point.recorded = point.run_id, True
        self.outcomes[point.index] = result
        self.report(point.index, FINISHED, result)

    def _cancel(self, indices) -> None:
        """Cancel the points named (a queued task is dropped, a running one stopped by force) and record them
        cancelled; force any asked to stop earlier whose task is still there after CANCEL_GRACE."""
        now = time.monotonic()
        for point in self.points:
            if point.gone:
                continue
            if point.index in indices and point.cancel_asked is None and not point.recorded:
                point.cancel_asked, point.forced = now, point.run_id is not None
                ray.cancel(point.ref, force=point.forced)
                self._end(point, CANCELLED, "Cancelled by the user.")
            elif point.cancel_asked is not None and not point.forced and now - point.cancel_asked >= CANCEL_GRACE:
                point.forced = True
                ray.cancel(point.ref, force=True)

    def _stop_all(self) -> None:
        """Stopped from outside (the server gone, Ctrl-C): cancel every task, the runs started interrupted."""
        for point in self.points:
            if point.ref is not None and not point.gone:
                ray.cancel(point.ref, force=True)
            if point.run_id is not None and not point.recorded:
                self.store.end_run(point.run_id, INTERRUPTED, message="Stopped before it finished.",
                                   history=point.history, timings={"total": time.perf_counter() - point.started})
            point.recorded = point.gone = True


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_sweep_on_ray(base: RunConfig, axes: dict, store: RunStore, *, address: str,
                     report: Optional[Report] = None, dataset: Optional[Dataset] = None) -> tuple[int, list]:
    """:func:`core.runs.runner.run_sweep` on the Ray cluster at `address`: every point refused before anything
    is recorded when one cannot run, then the sweep recorded and its points run as Ray tasks (`report` as
    :class:`RayDriver` takes it). Returns (sweep id, outcomes in grid order)."""
    configs = sweep_configs(base, axes)
    for config in configs:
        dataset = check_config(config, dataset)
    store.check_writable()
    connect(address)
    sweep_id = store.sweeps.create(base, {axis: list(values) for axis, values in axes.items()})
    names = [f"{describe_point(config, axes)} (sweep {sweep_id})" for config in configs]
    return sweep_id, RayDriver(store, configs, names, sweep_id, dataset=dataset, report=report).run()


__all__ = ["RAY_ADDRESS_ENV", "RAY_MISSING", "RayDriver", "RayUnavailable", "RunFailed", "configured_address",
           "connect", "ray_installed", "run_sweep_on_ray", "train_point"]
