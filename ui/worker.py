"""Training in a separate worker process, so the web server stays responsive.

Why a process and not a thread: TensorFlow and numba's compiler hold the GIL for long stretches, and
streamlit clears Keras' global session after every script run (twice a second while progress is
polled), which would disturb a model training in the server's own process. One worker per server
runs jobs in order; it imports TensorFlow and compiles UMAP once, when the app first loads.

No streamlit here: the worker reports through a queue, a dispatcher thread in the server routes each
report to its :class:`TrainingJob`, and pages read jobs with `snapshot()`.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue
import sys
import threading
from pathlib import Path
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

from core import quiet_tensorflow_import
from core.data import DatasetUnavailable
from core.experiment import ClusteringResult, RunConfig, check_config
from core.progress import ProgressEvent, ProgressThrottle, StopTraining, TrainingCancelled
from core.projection import warm_up_umap
from core.runs import RunStore, StoreError
from core.runs.ray_sweeps import PROGRESS, RayDriver, connect
from core.runs.runner import ProcessStopped, record_run
from core.runs.status import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING



@contextmanager
def _plain_main_module():
    """Hide the running script from multiprocessing while a child starts.

    A spawned child re-runs the parent's ``__main__`` file; under ``streamlit run`` that is app.py,
    which would start another worker in the child. The child needs nothing from ``__main__``.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


PROGRESS_INTERVAL = 0.1  # seconds between progress reports sent to the server (epoch ends always go)


RECENT_JOBS = 50    # jobs that ended kept findable by id, for a tab refreshed as its run finished
GRACE_SECONDS = 5.0  # after a cancel, how long a step that cannot stop (UMAP, spectral) may run on
WORKER_NICENESS = 10  # the training process yields the CPU to the server; alone, it trains at full speed
NICENESS_ENV = "DEEP_CLUSTERING_WORKER_NICENESS"  # tests set 0: their workers share 2 cores with the suite
WARMUP_ENV = "DEEP_CLUSTERING_WARMUP"  # "0": no UMAP warm-up in the worker (tests restart workers often)


def _worker_main(requests, events, controls, store_dir, parent_pid) -> None:
    """The worker process: warm up, then run each (job_id, config, options) it receives, recording it in
    the run store at `store_dir` and reporting as it goes.

    `controls` carries ("cancel", job_id) and ("stop", job_id) (stop and keep); they are collected at every
    report point. Results go back by run id: the server reads them from the store. When the server
    (`parent_pid`) is gone, the current run stops (recorded as interrupted) and the worker exits.
    """
    store, device = _start_worker(store_dir)
    events.put(("ready", None, device))
    orders = _Orders(controls, parent_pid)
    while True:
        try:
            item = requests.get(timeout=2.0)
        except queue.Empty:
            if orders.server_gone():
                return
            continue
        if item is None:
            return
        job_id, config, options = item
        orders.collect()
        if isinstance(config, RayBatch):
            try:
                _run_ray_batch(store, config, events, orders)
            except ProcessStopped:
                return
            continue
        if job_id in orders.cancelled:
            events.put((CANCELLED, job_id, None))
            continue
        events.put(("taken", job_id, None))
        try:
            _run_job(store, job_id, config, options, events, orders)
        except ProcessStopped:
            return


def _start_worker(store_dir) -> tuple[RunStore, str]:
    """Lower the process's priority, import TensorFlow quietly, open the store and warm UMAP up; returns the
    store and what the networks train on (:func:`core.models.devices.training_device`)."""
    try:  # the web server (and a browser on the same machine) come first: pages stay quick while it trains
        os.nice(int(os.environ.get(NICENESS_ENV, WORKER_NICENESS)))
    except (AttributeError, OSError):  # no nice on Windows
        pass
    quiet_tensorflow_import()
    from core.models.devices import training_device  # TensorFlow's question: asked here, never in the server

    device = training_device()
    store = RunStore(store_dir)
    if os.environ.get(WARMUP_ENV, "1") != "0":
        try:
            warm_up_umap()
        except Exception:  # a failed warm-up only means the first projection compiles instead
            pass
    return store, device


class _Orders:
    """What the server has asked of the worker: jobs to cancel, jobs to stop and keep, and whether the
    server itself is still there."""

    def __init__(self, controls, parent_pid: int):
        self.controls, self.parent_pid = controls, parent_pid
        self.cancelled: set = set()
        self.stopping: set = set()

    def collect(self) -> None:
        while True:
            try:
                kind, job = self.controls.get_nowait()
            except queue.Empty:
                return
            (self.cancelled if kind == "cancel" else self.stopping).add(job)

    def server_gone(self) -> bool:
        return os.getppid() != self.parent_pid


def _run_job(store: RunStore, job_id, config, options: dict, events, orders: _Orders) -> None:
    """Run one job, reporting its progress and how it ended on `events` (ProcessStopped when the server
    is gone: the caller exits)."""
    throttle = ProgressThrottle(PROGRESS_INTERVAL)
    stopped_at: list = []

    def callback(event):
        orders.collect()
        if job_id in orders.cancelled:
            raise TrainingCancelled()
        if orders.server_gone():
            raise ProcessStopped()
        if throttle.passes(event):
            events.put(("progress", job_id, event))
        if job_id in orders.stopping and event.n_epochs > 0:  # an epoch loop: it ends and keeps what it learned
            stopped_at.append(f"{event.phase} epoch {event.epoch} of {event.n_epochs}")
            raise StopTraining()

    try:
        if is_task(config):  # its small result crosses as it is
            events.put((FINISHED, job_id, config.run(store, callback)))
            return
        result = record_run(config, store, callback=callback, name=options.get("name"),
                            sweep_id=options.get("sweep_id"),
                            on_start=lambda run_id: events.put(("started", job_id, run_id)))
        if stopped_at:
            store.note(result.run_id, f"Stopped early by the user, in {stopped_at[0]}, and clustered with what "
                                      "the network had learned by then.")
    except TrainingCancelled:
        events.put((CANCELLED, job_id, None))
    except (ValueError, KeyError, DatasetUnavailable, FloatingPointError, StoreError, OSError) as error:
        events.put((FAILED, job_id, str(error.args[0] if isinstance(error, KeyError) and error.args else error)))
    except ProcessStopped:
        raise
    except Exception as error:  # report anything else and keep serving
        events.put((FAILED, job_id, f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=4)}"))
    else:
        events.put((FINISHED, job_id, result.run_id))  # the server reads the result from the store


@dataclass
class RayBatch:
    """A sweep's runs (`job_ids`, `configs`, `names`, in grid order) for the Ray cluster at `address`: one
    request, which the worker drives to its end (core.runs.ray_sweeps) while the cluster trains."""

    address: str
    sweep_id: int
    job_ids: list
    configs: list
    names: list


def _run_ray_batch(store: RunStore, batch: RayBatch, events, orders: _Orders) -> None:
    """Drive `batch` on its Ray cluster, each run's start, progress and end reported under its job's id; a
    cluster that cannot be joined, or data that cannot be loaded, fails every run of it."""

    def report(index, kind, payload):
        job_id = batch.job_ids[index]
        if kind == RUNNING:
            events.put(("taken", job_id, None))
            events.put(("started", job_id, payload))
        elif kind == PROGRESS:
            events.put(("progress", job_id, payload))
        elif kind in (FINISHED, FAILED, CANCELLED):
            events.put((kind, job_id, payload.run_id if kind == FINISHED else payload))

    def stop_requests() -> set:
        orders.collect()
        if orders.server_gone():
            raise ProcessStopped()
        return {index for index, job_id in enumerate(batch.job_ids) if job_id in orders.cancelled}

    try:
        connect(batch.address)
        dataset = None
        for config in batch.configs:
            dataset = check_config(config, dataset)
        RayDriver(store, batch.configs, batch.names, batch.sweep_id, dataset=dataset, report=report,
                  stop_requests=stop_requests).run()
    except ProcessStopped:
        raise
    except Exception as error:  # said on every run not ended yet (a job already ended ignores it)
        message = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
        for job_id in batch.job_ids:
            events.put((FAILED, job_id, message or type(error).__name__))


@dataclass
class JobSnapshot:
    """A consistent copy of a job's state for drawing."""

    status: str
    event: Optional[ProgressEvent]
    losses: list
    elapsed: float
    waiting_for: str = ""
    error: str = ""
    result: Optional[ClusteringResult] = None
    config: Optional[RunConfig] = None
    run_id: Optional[int] = None
    stopping: bool = False
    frames: list = field(default_factory=list)  # the live view's pictures so far (core.progress.Frame)


@dataclass
class TrainingJob:
    """One run of `run_experiment` in the worker, with its progress, outcome and a cancel switch.

    `config` may also be a task (:func:`is_task`: the cluster-count scan, a projection):
    it runs in the same queue, reports and cancels the same way, and its result is ``job.result``."""

    config: RunConfig
    name: Optional[str] = None       # the run's name in the store (None: a default one)
    sweep_id: Optional[int] = None
    id: int = 0
    run_id: Optional[int] = None     # set once the worker has recorded the run in the store
    ray_address: Optional[str] = None  # trained on this Ray cluster (its sweep's RayBatch), not in the worker
    status: str = RUNNING
    event: Optional[ProgressEvent] = None
    losses: list = field(default_factory=list)
    frames: list = field(default_factory=list)  # pictures of a sample as the network trains, each sent once
    error: str = ""
    result: Optional[ClusteringResult] = None
    started: float = field(default_factory=time.perf_counter)  # queued; then when the worker took it
    finished: Optional[float] = None
    stopping: bool = False           # "stop and keep" asked: training ends early, the run still finishes
    _worker: Optional["TrainingWorker"] = None
    _done: threading.Event = field(default_factory=threading.Event)
    _worker_done: threading.Event = field(default_factory=threading.Event)
    _heard: threading.Event = field(default_factory=threading.Event)  # a first report (or the end) came
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _report(self, kind: str, payload, *, from_worker: bool = True) -> None:
        if from_worker and kind not in ("progress", "started"):
            self._worker_done.set()
        with self._lock:
            if self.status != RUNNING:
                return  # already cancelled from the page: late reports change nothing
            if kind == "started":
                self.run_id = payload
                return
            if kind == "progress":
                self.event = payload
                self._heard.set()
                if payload.end_of_epoch and payload.loss is not None:
                    self.losses.append({"phase": payload.phase, "epoch": payload.epoch, "loss": payload.loss})
                if payload.frame is not None:
                    self.frames.append(payload.frame)
                return
            self.status = kind
            self.finished = time.perf_counter()
            if kind == FINISHED and isinstance(payload, int):
                self.run_id = payload  # the result is read back from the store: read_result()
            elif kind == FINISHED:
                self.result = payload  # a task's small result (a scan's scores, a projection's points)
            elif kind == FAILED:
                self.error = payload
        self._heard.set()
        self._done.set()

    def _taken(self) -> None:
        """The worker starts on it: its elapsed time counts from now, not from when it was queued (a sweep's
        last run would otherwise show the whole sweep's time as its own)."""
        with self._lock:
            if self.status == RUNNING:
                self.started = time.perf_counter()

    def cancel(self) -> None:
        """Stop the job: it reports cancelled at once; the worker stops at its next report point, or is
        restarted after GRACE_SECONDS when a step cannot stop (UMAP, spectral clustering)."""
        self._report(CANCELLED, None, from_worker=False)
        if self._worker is not None:
            self._worker.cancel(self)

    def stop_early(self) -> None:
        """End training at the next epoch and finish the run with what the network has learned."""
        with self._lock:
            if self.status != RUNNING:
                return
            self.stopping = True
        if self._worker is not None:
            self._worker.stop_early(self)

    def read_result(self, loader=None) -> Optional[ClusteringResult]:
        """The finished run's result, read back from the store once (by `loader(run_id)`, e.g. one that
        reuses the server's cached dataset; default: the store's own reader). None until finished."""
        if self.status != FINISHED or self.run_id is None:
            return None
        if self.result is None:
            read = loader or (lambda run_id: self._worker.read_result(run_id))
            self.result = read(self.run_id)
        return self.result

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job ends (for the page); True if it did within `timeout`."""
        return self._done.wait(timeout)

    def wait_for_progress(self, timeout: Optional[float] = None) -> bool:
        """Block until the job's first progress line (or its end); True if it came within `timeout`."""
        return self._heard.wait(timeout)

    def wait_for_worker(self, timeout: Optional[float] = None) -> bool:
        """Block until the worker itself is done with the job (after a cancel: until it stopped)."""
        return self._worker_done.wait(timeout)

    @property
    def done(self) -> bool:
        return self.status != RUNNING

    @property
    def shown_status(self) -> str:
        """Its status as a table shows it: queued while it waits its turn in the training process."""
        return QUEUED if self.status == RUNNING and self.event is None else self.status

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            end = self.finished or time.perf_counter()
            waiting = ""
            if self.event is None and self._worker is not None:
                waiting = self._worker.waiting_reason(self)
            return JobSnapshot(self.status, self.event, list(self.losses), end - self.started, waiting,
                               self.error, self.result, self.config, self.run_id, self.stopping, list(self.frames))


def is_task(config) -> bool:
    """True for a task queued with the runs (core.tasks: the cluster-count scan, a projection), which has
    ``run(store, callback)`` and a ``title``; False for a run's RunConfig."""
    return hasattr(config, "run")


_prestarted: dict = {}  # {store folder: TrainingWorker} started with the server, before any page asked


def prestart(store_dir) -> None:
    """Start the training process now, before a page asks for one (``python -m ui.serve`` does, while
    the server starts): it then imports TensorFlow while nobody waits, not during the first page's drawing."""
    key = str(Path(store_dir).resolve())
    if key not in _prestarted:
        _prestarted[key] = TrainingWorker(store_dir)


def adopt_prestarted(store_dir) -> Optional["TrainingWorker"]:
    """The worker :func:`prestart` started for `store_dir`, handed over once; None when there is none."""
    return _prestarted.pop(str(Path(store_dir).resolve()), None)


class TrainingWorker:
    """The server's handle on its worker process: submit jobs, cancel them (restarting the process when
    a step cannot stop), restart it after a crash; queued jobs survive a restart."""

    def __init__(self, store_dir, grace_seconds: float = GRACE_SECONDS):
        self._ctx = mp.get_context("spawn")  # fork after TensorFlow or threads is unsafe
        self.store_dir = str(store_dir)
        self.grace_seconds = grace_seconds
        self._ids = itertools.count(1)
        self._jobs: dict[int, TrainingJob] = {}
        self._ended: dict[int, TrainingJob] = {}  # the last RECENT_JOBS jobs that ended, by id (find())
        self.sweeps: list[SweepJob] = []     # every sweep queued on this server, newest last
        self._lock = threading.RLock()
        self._current: Optional[int] = None  # the job the worker has taken (running, or preparing)
        self.ready = False
        self.device = ""  # what the networks train on, said by the process once started ("CPU (2 cores)")
        self.restarts = 0
        self._closed = False
        self._start_process()
        threading.Thread(target=self._dispatch, name="training-dispatch", daemon=True).start()

    def _start_process(self) -> None:
        self._requests = self._ctx.Queue()
        self._events = self._ctx.Queue()
        self._controls = self._ctx.Queue()
        self.ready = False
        self._process = self._ctx.Process(target=_worker_main, name="training-worker", daemon=True,
                                          args=(self._requests, self._events, self._controls,
                                                self.store_dir, os.getpid()))
        with _plain_main_module():
            self._process.start()

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid

    def close(self) -> None:
        """Stop the worker process for good (a server shutting down, a test done with it)."""
        with self._lock:
            self._closed = True
            self._requests.put(None)
            self._process.join(5)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)

    def _send(self, job: TrainingJob) -> None:
        self._requests.put((job.id, job.config, {"name": job.name, "sweep_id": job.sweep_id}))

    def submit(self, job: TrainingJob) -> TrainingJob:
        with self._lock:
            job.id, job._worker = next(self._ids), self
            self._jobs[job.id] = job
            self._send(job)
        return job

    def submit_sweep(self, sweep: "SweepJob") -> "SweepJob":
        """Queue every run of `sweep`: the worker runs them one after another, or, for a sweep on a Ray cluster,
        sends them there together and follows them."""
        if sweep.ray_address is None:
            for job in sweep.jobs:
                self.submit(job)
        else:
            with self._lock:
                for job in sweep.jobs:
                    job.id, job._worker, job.ray_address = next(self._ids), self, sweep.ray_address
                    self._jobs[job.id] = job
                self._requests.put((None, RayBatch(sweep.ray_address, sweep.sweep_id, [j.id for j in sweep.jobs],
                                                   [j.config for j in sweep.jobs], [j.name for j in sweep.jobs]), {}))
        with self._lock:
            self.sweeps.append(sweep)
        return sweep

    def active_jobs(self) -> list[TrainingJob]:
        """Jobs queued or training on this server (from any session), the one training first."""
        with self._lock:
            jobs = list(self._jobs.values())
            current = self._current
        return sorted((j for j in jobs if not j.done), key=lambda j: (j.id != current, j.id))

    def find(self, job_id: int) -> Optional[TrainingJob]:
        """Job `job_id` of this server, queued, training or among the last that ended (None otherwise): a tab
        refreshed while its run trained finds its job again by the id in its address."""
        with self._lock:
            return self._jobs.get(job_id) or self._ended.get(job_id)

    def cancel(self, job: TrainingJob) -> None:
        self._controls.put(("cancel", job.id))
        timer = threading.Timer(self.grace_seconds, self._enforce_cancel, args=(job,))
        timer.daemon = True
        timer.start()

    def stop_early(self, job: TrainingJob) -> None:
        self._controls.put(("stop", job.id))

    def _enforce_cancel(self, job: TrainingJob) -> None:
        """A cancelled job the worker is still on after the grace period: stop the process and start a
        fresh one; the run is recorded as cancelled and the queue goes on."""
        if job._worker_done.is_set() or job.ray_address is not None:  # a Ray sweep's driver forces its own
            return
        with self._lock:
            if self._current != job.id:
                return  # still queued behind another job: the worker skips it when it gets there
            self._restart(job, CANCELLED, "Cancelled by the user (the training process was stopped and "
                                          "restarted to end a step that cannot stop on its own).")

    def waiting_reason(self, job: TrainingJob) -> str:
        if not self.ready:
            if self.restarts:
                return "Waiting for the training process to restart (loading TensorFlow)"
            return "Starting the training process (loading TensorFlow and compiling UMAP, once per server)"
        if job.ray_address is not None:
            return f"Queued on the Ray cluster ({job.ray_address})"
        if self._current not in (None, job.id):
            return "Waiting for another training on this server to finish"
        return "Preparing"

    def _dispatch(self) -> None:
        while not self._closed:
            events, process = self._events, self._process
            try:
                kind, job_id, payload = events.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    self._restart_after_crash(process)
                continue
            except (EOFError, OSError):  # the queue broke with the process
                if not process.is_alive():
                    self._restart_after_crash(process)
                continue
            if events is not self._events:
                continue  # a late report of a process already replaced
            if kind == "ready":
                self.device, self.ready = payload, True
                continue
            with self._lock:
                job = self._jobs.get(job_id)
                if kind in ("taken", "progress", "started"):
                    self._current = job_id
                else:
                    self._current = None
                    ended = self._jobs.pop(job_id, None)
                    if ended is not None:
                        self._ended[job_id] = ended
                        while len(self._ended) > RECENT_JOBS:
                            self._ended.pop(next(iter(self._ended)))
            if job is None:
                continue
            if kind == "taken":
                job._taken()
                continue
            job._report(kind, payload)

    def read_result(self, run_id: int) -> ClusteringResult:
        """Finished run `run_id` read back from the store (what crosses from the worker is its id)."""
        return RunStore(self.store_dir).load_result(run_id)

    def _restart(self, current: Optional[TrainingJob], outcome: str, message: str) -> None:
        """Replace the worker process. `current`, the job it was on (if known), ends as `outcome` with
        `message`, in the store too; jobs queued behind it go to the new process, in order."""
        with self._lock:
            old = self._process
            pending = sorted((j for j in self._jobs.values() if not j.done and j is not current), key=lambda j: j.id)
            self._jobs = {j.id: j for j in pending}
            self._current = None
            self.restarts += 1
            if old.is_alive():
                old.terminate()
                old.join(5)
                if old.is_alive():
                    old.kill()
                    old.join(5)
            self._start_process()
            for job in pending:
                if job.ray_address is None:
                    self._send(job)
        for job in pending:  # their tasks went with the process that drove them
            if job.ray_address is not None:
                job._report(FAILED, "The training process that followed this run on the Ray cluster stopped "
                                    "unexpectedly; queue the sweep again.")
        if current is not None:
            if current.run_id is not None:
                try:
                    RunStore(self.store_dir).end_run(current.run_id, outcome, message=message, keep_history=True)
                except Exception:  # the store will mark it interrupted on its next look
                    pass
            current._report(outcome, message if outcome == FAILED else None)

    def _restart_after_crash(self, process) -> None:
        with self._lock:
            if process is not self._process or self._closed:
                return  # already replaced, or closed on purpose
            current = self._jobs.get(self._current) if self._current is not None else None
            code = process.exitcode
            how = "was killed" if code is not None and code < 0 else f"exited with code {code}"
            self._restart(current, FAILED, f"The training process stopped unexpectedly (it {how}), for example "
                                           "because it ran out of memory. Try a smaller sample size or batch size; "
                                           "runs queued behind it go on.")


@dataclass
class SweepSnapshot:
    total: int
    finished: int
    failed: int
    cancelled: int
    current: Optional[TrainingJob]
    statuses: list

    @property
    def done(self) -> int:
        return self.finished + self.failed + self.cancelled

    @property
    def running(self) -> bool:
        return self.done < self.total


@dataclass
class SweepJob:
    """A queued grid of runs (one TrainingJob each) recorded under one sweep id in the store."""

    sweep_id: int
    name: str
    axes: dict
    jobs: list
    ray_address: Optional[str] = None  # run on this Ray cluster (the server's, core.runs.ray_sweeps), else here

    def snapshot(self) -> SweepSnapshot:
        statuses = [job.status for job in self.jobs]
        current = next((job for job in self.jobs if not job.done), None)
        return SweepSnapshot(len(self.jobs), statuses.count(FINISHED), statuses.count(FAILED),
                             statuses.count(CANCELLED), current, statuses)

    def cancel(self) -> None:
        """Cancel the run training now and every run still queued; finished runs stay in the store."""
        for job in self.jobs:
            if not job.done:
                job.cancel()
