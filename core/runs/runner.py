"""Running configurations into the store: one run, or a sweep over a grid of hyperparameters.

The dashboard's training process and the command line both go through :func:`record_run`, so a run
made in either shows in the other.
"""
from __future__ import annotations

import itertools
import statistics
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Optional, Sequence

from core.experiment import (MAX_SEED, MIN_RUN_SAMPLES, ClusteringResult, RunConfig, check_config, run_experiment,
                             whole_number)
from core.progress import ProgressCallback, TrainingCancelled
from core.runs.status import CANCELLED, FAILED, FINISHED, INTERRUPTED
from core.runs.liveness import HEARTBEAT_SECONDS
from core.runs.store import RunStore
from core.algorithms import get_algorithm
from core.vocabulary import format_seconds, format_value, setting_label

# Sweepable settings of a run that are not algorithm parameters.
RUN_AXES = {"n_clusters": "Number of clusters", "seed": "Seed", "n_samples": "Sample size"}


class ProcessStopped(Exception):
    """Raised through a run when the process that asked for it is gone (e.g. the server was stopped)."""


def record_run(config: RunConfig, store: RunStore, *, callback: Optional[ProgressCallback] = None, dataset=None,
               name: Optional[str] = None, tags: Iterable[str] = (), sweep_id: Optional[int] = None,
               on_start: Optional[Callable[[int], None]] = None) -> ClusteringResult:
    """Run `config` and record it in `store`: running at once, then finished with its artifacts, or
    cancelled / failed (with the message) / interrupted, keeping the epochs trained so far.

    A configuration that cannot run (see :func:`core.experiment.check_config`) raises before anything
    is recorded. Returns the result with `run_id` set; re-raises what stopped the run.
    """
    dataset = check_config(config, dataset)
    store.check_writable()
    run_id = store.start_run(config, name=name, tags=tags, sweep_id=sweep_id)
    if on_start is not None:
        on_start(run_id)
    history: list = []
    started = time.perf_counter()

    def tracked(event):
        entry = history_entry(event)
        if entry is not None:
            history.append(entry)
        if callback is not None:
            callback(event)

    def end(status: str, message: str = "") -> None:
        store.end_run(run_id, status, message=message, history=history,
                      timings={"total": time.perf_counter() - started})

    heartbeat = _Heartbeat(store, run_id)
    heartbeat.start()
    try:
        result = run_experiment(config, callback=tracked, dataset=dataset,
                                library=store.autoencoders.with_context(dataset=config.dataset))
    except TrainingCancelled:
        end(CANCELLED, "Cancelled by the user.")
        raise
    except (KeyboardInterrupt, ProcessStopped):
        end(INTERRUPTED, "Stopped before it finished.")
        raise
    except Exception as error:
        end(FAILED, str(error) or type(error).__name__)
        raise
    finally:
        heartbeat.stop()
    save_finished(store, run_id, result, result.estimator, end)
    result.run_id = run_id
    return result


def history_entry(event) -> Optional[dict]:
    """What a run's record keeps of progress `event` until it ends (an epoch's loss), or None."""
    if event.end_of_epoch and event.loss is not None:
        return {"phase": event.phase, "epoch": event.epoch, "loss": float(event.loss), "elapsed": float(event.elapsed)}
    return None


def save_finished(store: RunStore, run_id: int, result: ClusteringResult, estimator,
                  end: Callable[[str, str], None]) -> None:
    """The record half of a run: save `result` and `estimator`'s model as run `run_id`, finished (noting a
    reused autoencoder); on failure `end(FAILED, message)` and re-raise."""
    try:
        store.finish_run(run_id, result, estimator)
    except BaseException as error:
        end(FAILED, f"The run finished but could not be saved: {error}")
        raise
    if getattr(estimator, "pretrained_reused_", False):
        store.note(run_id, "Its autoencoder was pretrained once before on the same images with the same settings, "
                           "and reused.")


class _Heartbeat(threading.Thread):
    """Touches a running run's record every HEARTBEAT_SECONDS, so that other processes (and other
    machines sharing the store) can tell a live run from one whose process was lost."""

    def __init__(self, store: RunStore, run_id: int):
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.store, self.run_id, self._stop_event = store, run_id, threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(HEARTBEAT_SECONDS):
            try:
                self.store.beat(self.run_id)
            except Exception:  # a busy store: the next beat will do
                pass

    def stop(self) -> None:
        self._stop_event.set()


def parse_axis_value(algorithm: str, axis: str, text: str):
    """A value of a sweepable setting given as text (command line, text box), in the type it takes."""

    text = text.strip()
    if axis in ("n_clusters", "seed", "n_samples"):
        if axis == "n_samples" and text.lower() in ("all", "none"):
            return None
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{RUN_AXES[axis]} takes whole numbers, not {text!r}.") from None
        low, high = {"n_clusters": (2, None), "seed": (0, MAX_SEED), "n_samples": (MIN_RUN_SAMPLES, None)}[axis]
        whole_number(RUN_AXES[axis], value, low, high)
        return value
    spec = {p.name: p for p in get_algorithm(algorithm).params}.get(axis)
    if spec is None:
        raise ValueError(f"{axis!r} is not a setting of {get_algorithm(algorithm).title}; choose from "
                         f"{', '.join(sweep_axes(algorithm))}.")
    return spec.parse(text)


def sweep_axes(algorithm: str) -> dict:
    """Settings a sweep can vary for `algorithm`: name -> label."""

    spec = get_algorithm(algorithm)
    axes = {name: label for name, label in RUN_AXES.items() if name != "n_clusters" or spec.uses_n_clusters}
    axes.update({p.name: p.label for p in spec.params})
    return axes


def sweep_configs(base: RunConfig, axes: dict[str, Sequence]) -> list[RunConfig]:
    """Every combination of the values in `axes` (one or two settings, and the seed besides: a grid repeated
    over seeds) applied to `base`, in grid order."""
    settings = [axis for axis in axes if axis != "seed"]
    if not axes or len(settings) > 2:
        raise ValueError(f"a sweep varies one or two settings (and the seed), not {len(settings)}.")
    known = sweep_axes(base.algorithm)
    for axis, values in axes.items():
        if axis not in known:
            raise ValueError(f"{axis!r} is not a setting of {base.algorithm}; choose from {', '.join(known)}.")
        if len(values) == 0:
            raise ValueError(f"give at least one value for {axis}.")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"the values of {axis} repeat: {', '.join(map(str, values))}.")
    configs = []
    for combination in itertools.product(*axes.values()):
        config, params = base, dict(base.params)
        for axis, value in zip(axes, combination):
            if axis in RUN_AXES:
                config = replace(config, **{axis: value})
            else:
                params[axis] = value
        configs.append(replace(config, params=params))
    return configs


def axis_value(config: RunConfig, axis: str):
    """The value of sweepable setting `axis` in `config` (a run setting or an algorithm parameter)."""
    return getattr(config, axis) if axis in RUN_AXES else config.params.get(axis)


def describe_point(config: RunConfig, axes: Iterable[str]) -> str:
    """"Latent size 5, Number of clusters 8": where a run sits in its sweep, in the form's words."""

    def value(axis):
        found = axis_value(config, axis)
        return "all" if axis == "n_samples" and found is None else format_value(found)

    return ", ".join(f"{setting_label(axis, config.algorithm)} {value(axis)}" for axis in axes)


def run_sweep(base: RunConfig, axes: dict[str, Sequence], store: RunStore, *,
              callback: Optional[Callable[[int, int, RunConfig, object], None]] = None, dataset=None,
              stop_on_error: bool = False) -> tuple[int, list]:
    """Run the grid of `axes` over `base` one run after another, recording each in `store`.

    `callback(index, total, config, event)` sees every progress event. A failing run is recorded as
    failed and the sweep goes on (unless `stop_on_error`); cancelling (TrainingCancelled from the
    callback) stops the sweep. Returns (sweep id, list of results or exceptions in grid order).
    """
    configs = sweep_configs(base, axes)
    for config in configs:  # a point that cannot run is refused before the sweep is recorded
        dataset = check_config(config, dataset)
    store.check_writable()
    sweep_id = store.sweeps.create(base, {axis: list(values) for axis, values in axes.items()})
    outcomes: list = []
    for index, config in enumerate(configs):
        step = None if callback is None else (lambda event, i=index, c=config: callback(i, len(configs), c, event))
        try:
            outcomes.append(record_run(config, store, callback=step, dataset=dataset, sweep_id=sweep_id,
                                       name=f"{describe_point(config, axes)} (sweep {sweep_id})"))
        except (TrainingCancelled, KeyboardInterrupt, ProcessStopped):
            raise
        except Exception as error:
            if stop_on_error:
                raise
            outcomes.append(error)
    return sweep_id, outcomes


SIMILAR_RUNS = 200  # the newest finished runs of a dataset and algorithm an estimate looks through


def typical_seconds(store: RunStore, configs: Sequence[RunConfig]) -> list[Optional[float]]:
    """How long each of `configs` may take here, judging from finished runs in `store`: the median duration of
    those that did the same work (same dataset, algorithm, samples and settings; the seed and the number of
    clusters aside, which barely change it), else of every run with the same algorithm on the same dataset;
    None where the store has none."""
    found: dict = {}
    estimates = []
    for config in configs:
        pair = (config.dataset, config.algorithm)
        if pair not in found:
            found[pair] = [r for r in store.list_runs(status=FINISHED, dataset=pair[0], algorithm=pair[1],
                                                      limit=SIMILAR_RUNS) if r.duration is not None]
        runs = found[pair]
        alike = [r for r in runs if _same_work(r.config, config)] or runs
        estimates.append(float(statistics.median(r.duration for r in alike)) if alike else None)
    return estimates


def _same_work(first: RunConfig, second: RunConfig) -> bool:
    return replace(first, seed=0, n_clusters=None) == replace(second, seed=0, n_clusters=None)


@dataclass(frozen=True)
class SweepEstimate:
    """How long a sweep still needs, and what the figure rests on (`seconds` None: not known yet)."""

    seconds: Optional[float]
    basis: str = ""   # "the 2 runs finished so far", "similar runs in the store"

    def say(self, *, started: bool) -> str:
        """"about 4 min 10 s left, judging from ...", or that it is not known yet (and when it will be)."""
        if self.seconds is None:
            return ("time left not known until its first run finishes" if started else
                    "how long it will take is not known yet (no finished run in the store is like these); it "
                    "is estimated once the first run has finished")
        return f"about {format_seconds(self.seconds)} {'left' if started else 'in all'}, judging from {self.basis}"


def estimate_sweep(n_left: float, finished_seconds: Sequence[float],
                   typical: Sequence[Optional[float]]) -> SweepEstimate:
    """Time needed for the `n_left` runs still to do (the one training counted by what is left of it): the mean
    duration of the sweep's runs that ended so far (`finished_seconds`), else the mean of the `typical` durations
    of the runs left (:func:`typical_seconds`, None where unknown); not known without either."""
    if finished_seconds:
        count = len(finished_seconds)
        basis = "the run finished so far" if count == 1 else f"the {count} runs finished so far"
        return SweepEstimate(statistics.fmean(finished_seconds) * max(n_left, 0.0), basis)
    known = [seconds for seconds in typical if seconds is not None]
    if not known:
        return SweepEstimate(None)
    return SweepEstimate(statistics.fmean(known) * max(n_left, 0.0), "similar runs in the store")
