"""Progress reporting and cancellation shared by every long-running computation in `core`.

A progress callback is any callable taking one :class:`ProgressEvent`. To cancel, the callback raises
:class:`TrainingCancelled`; the computation stops at its next report point (each training batch for
the deep models) and the exception propagates to the caller. To end training early but keep the result,
it raises :class:`StopTraining` at an epoch loop's event instead.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

import numpy as np


class TrainingCancelled(Exception):
    """Raised (by a progress callback) to stop a computation early."""


class StopTraining(Exception):
    """Raised by a progress callback at an epoch loop's event (``n_epochs > 0``) to end that loop early
    and go on with what the network has learned so far ("stop and keep"). Every epoch loop in `core`
    catches it; the run then clusters, scores and projects as usual."""


@dataclass(frozen=True)
class ProgressEvent:
    """A snapshot of a running computation.

    Attributes
    ----------
    phase : str
        Machine name of the phase, e.g. ``"pretrain"``, ``"cluster"``, ``"project"``.
    message : str
        One human-readable line describing what is happening now.
    fraction : float
        Progress of the current phase in [0, 1].
    epoch, n_epochs : int
        1-based epoch being trained and the number planned (0 when the phase has no epochs).
    step, n_steps : int
        Batch within the epoch and batches per epoch (0 when not applicable).
    loss : float or None
        Latest loss value (running mean over the epoch so far).
    elapsed : float
        Seconds since the phase started.
    end_of_epoch : bool
        True for the one event sent when an epoch completes; its ``loss`` is the epoch's mean.
    overall : float or None
        Progress of the whole run in [0, 1] (set by :class:`RunProgress`; None outside a run).
    frame : Frame or None
        A picture of the training at this epoch's end, where one was taken (the live view,
        :class:`core.algorithms.watch.FrameRecorder`); on the epoch's end event only, so it is sent once.
    """

    phase: str
    message: str
    fraction: float
    epoch: int = 0
    n_epochs: int = 0
    step: int = 0
    n_steps: int = 0
    loss: Optional[float] = None
    elapsed: float = 0.0
    end_of_epoch: bool = False
    overall: Optional[float] = None
    frame: Optional["Frame"] = field(default=None, compare=False, repr=False)

    @property
    def seconds_left(self) -> Optional[float]:
        """Linear estimate of the seconds left in this phase, or None before it can be told."""
        if self.fraction <= 0.02 or self.elapsed <= 0:
            return None
        return self.elapsed * (1.0 - self.fraction) / self.fraction


ProgressCallback = Callable[[ProgressEvent], None]


FRAME_PHASES = ("pretrain", "cluster", "result")  # what a frame shows: pretraining, a clustering phase, the outcome


@dataclass(frozen=True, eq=False)
class Frame:
    """One picture of a training in progress: a fixed sample of the run's images in 2-D, as the network
    embeds them at the end of an epoch, in the clusters they are in then.

    Attributes
    ----------
    phase : str
        One of FRAME_PHASES: "pretrain" (clusters: a k-means of the sample), "cluster" (the model's own
        clusters), "result" (the run's final clusters, after training).
    epoch, n_epochs : int
        The epoch just ended and the phase's planned epochs (0 and 0 for "result").
    points : ndarray of shape (m, 2), float16
        The sample's 2-D coordinates (centred, unit root-mean-square radius, turned to follow the frame before).
    labels : ndarray of shape (m,), int16
        The cluster of each image of the sample then (-1: noise), as that moment's clustering numbers them.
    sample : ndarray of shape (m,) or None
        Positions of the sample's images in the run's data; carried by a run's first frame only.
    truth : ndarray of shape (m,) or None
        Their true labels where the data has them; first frame only.
    """

    phase: str
    epoch: int
    n_epochs: int
    points: np.ndarray
    labels: np.ndarray
    sample: Optional[np.ndarray] = None
    truth: Optional[np.ndarray] = None


FRAME_ARRAYS = ("sample", "points", "labels", "phases", "epochs", "n_epochs")  # a run's frames.npz holds these


def frames_to_arrays(frames: Sequence[Frame]) -> dict:
    """`frames` (the first carrying the sample) as the plain arrays a run saves: FRAME_ARRAYS."""
    return {"sample": np.asarray(frames[0].sample, dtype=np.int32),
            "points": np.stack([f.points for f in frames]).astype(np.float16),
            "labels": np.stack([f.labels for f in frames]).astype(np.int16),
            "phases": np.array([FRAME_PHASES.index(f.phase) for f in frames], dtype=np.int8),
            "epochs": np.array([f.epoch for f in frames], dtype=np.int32),
            "n_epochs": np.array([f.n_epochs for f in frames], dtype=np.int32)}


def frames_from_arrays(arrays: dict, truth: Optional[np.ndarray] = None) -> list[Frame]:
    """The frames :func:`frames_to_arrays` saved; `truth`, the sample's true labels, goes on the first."""
    frames = []
    for i, (phase, epoch, n_epochs) in enumerate(zip(arrays["phases"], arrays["epochs"], arrays["n_epochs"])):
        first = i == 0
        frames.append(Frame(FRAME_PHASES[int(phase)], int(epoch), int(n_epochs), arrays["points"][i],
                            arrays["labels"][i], sample=arrays["sample"] if first else None,
                            truth=truth if first else None))
    return frames


class RunProgress:
    """One fraction for a whole run, from the events of its phases.

    `plan` lists the phases a run reports, in order, with their expected share of the time as relative
    weights (e.g. ``[("load", 1), ("pretrain", 75), ("cluster", 5), ("evaluate", 1), ("project", 12)]``).
    Each event passed on carries ``overall``: the weight of the phases before its own plus its own
    fraction of that phase, over the total. The value never goes back, so a phase that has no report
    points of its own (a scikit-learn fit) leaves the bar where its first event put it instead of
    showing 100 % of the previous phase.
    """

    def __init__(self, callback: Optional[ProgressCallback], plan: list):
        self.callback = callback
        self.plan = [(phase, max(float(weight), 0.0)) for phase, weight in plan]
        self.total = sum(weight for _, weight in self.plan) or 1.0
        self.overall = 0.0

    def _position(self, phase: str, fraction: float) -> Optional[float]:
        done = 0.0
        for name, weight in self.plan:
            if name == phase:
                return (done + weight * fraction) / self.total
            done += weight
        return None

    def __call__(self, event: ProgressEvent) -> None:
        if self.callback is None:
            return
        position = self._position(event.phase, event.fraction)
        if position is not None:
            self.overall = min(max(self.overall, position), 1.0)
        self.callback(replace(event, overall=self.overall))


class PhaseReporter:
    """Sends events for one phase to an optional callback, tracking elapsed time."""

    def __init__(self, callback: Optional[ProgressCallback], phase: str):
        self.callback = callback
        self.phase = phase
        self.start = time.perf_counter()

    def __call__(self, message: str, fraction: float, **fields) -> None:
        if self.callback is None:
            return
        self.callback(
            ProgressEvent(
                phase=self.phase,
                message=message,
                fraction=min(max(float(fraction), 0.0), 1.0),
                elapsed=time.perf_counter() - self.start,
                **fields,
            )
        )


class ProgressThrottle:
    """Which progress events are worth sending on from a training process: every new phase or message (a
    classical fit's single "Clustering..." event may be followed by a long silence, and must not be dropped),
    every epoch end and phase end, and otherwise at most one per `interval` seconds (the dashboard's training
    process and a Ray task each throttle their reports with one)."""

    def __init__(self, interval: float):
        self.interval, self.last_time, self.last_step = interval, 0.0, None

    def passes(self, event: ProgressEvent, now: Optional[float] = None) -> bool:
        now = time.perf_counter() if now is None else now
        step = (event.phase, event.message)
        if step != self.last_step or event.end_of_epoch or event.fraction >= 1.0 or now - self.last_time >= self.interval:
            self.last_time, self.last_step = now, step
            return True
        return False
