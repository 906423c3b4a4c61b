"""Watching a network learn: pictures ("frames") of a fixed sample of the images, taken every few epochs while
an autoencoder pretrains and while a deep method's clustering phase trains, so that a viewer sees the clusters
form, and a run can replay them afterwards.

A frame is the sample through the current encoder; its clusters at that moment (a k-means of the sample while
the autoencoder pretrains, warm-started from the frame before; the model's own assignment in a clustering
phase); and a 2-D picture of it: PCA of the sample's embedding, scaled to a unit radius and turned (orthogonal
Procrustes) to follow the frame before, so that the picture does not flip or spin between frames. Colours are
matched between frames where they are drawn (:mod:`core.viz.frames`, Hungarian matching), not here.

Frames ride to whoever listens on the epoch's end event (:attr:`core.progress.ProgressEvent.frame`), so each
is sent once; the run keeps them all (``frames.npz``). What they cost is measured by bench/watch_overhead.py
(docs/watch-it-learn.md).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Callable, Optional

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from core.progress import Frame, ProgressCallback

SAMPLE_SIZE = 2000       # images in the picture: enough to see clusters, few enough to embed in milliseconds
FRAMES_PER_PHASE = 16    # a phase of any length gives at most this many frames (about 15-35 a run)
MIN_FRAMES_PER_PHASE = 3  # its first, one in the middle, its last: however dear a frame
TIME_SHARE = 0.03        # frames may take this share of a phase's time: fewer frames where a network is dear to run
KMEANS_ITERATIONS = 50   # a warm start is close already: a cap keeps a frame cheap
ENCODE_BATCH = 256       # the sample goes through the network in batches of a training step's size, not at once
                         # (2,000 images of 28x28 at once ask a convolutional network for 200 MB of activations)


class FrameRecorder:
    """Takes the frames of one fit: pass it to an estimator's ``fit(X, recorder=...)``.

    The estimator says what to look at (:meth:`follow`: the inputs its network takes; :meth:`watch`: for
    each phase, how to embed the sample and, in a clustering phase, how the model assigns it); the
    recorder takes a frame at the end of epoch 1, of every few epochs after and of the last, and one more of
    the result (:meth:`finish`). How few: at most `frames_per_phase` a phase, and no more than take
    `time_share` of the phase's time (judged from the epochs so far and the frames taken so far: a
    convolutional network over 2,000 images of 28x28 costs 0.16 s a frame, a dense one over digits 0.05 s),
    but never fewer than MIN_FRAMES_PER_PHASE.

    Parameters
    ----------
    n_samples : int
        Images of the fit; the sample is drawn from them.
    n_clusters : int
        Clusters of the k-means that colours pretraining frames.
    seed : int, default=0
        Draws the sample and seeds the k-means (its own generators: the fit's results do not change).
    truth : array of shape (n_samples,) or None
        True labels, carried with the first frame for the sample's images.
    sample_size, frames_per_phase : int
    time_share : float

    Attributes
    ----------
    sample : ndarray
        Positions of the sample's images (sorted).
    frames : list of core.progress.Frame
    seconds : float
        Time spent taking frames.
    """

    def __init__(self, n_samples: int, n_clusters: int, *, seed: int = 0, truth=None,
                 sample_size: int = SAMPLE_SIZE, frames_per_phase: int = FRAMES_PER_PHASE,
                 time_share: float = TIME_SHARE):
        rng = np.random.default_rng(seed)
        self.sample = (np.arange(n_samples) if n_samples <= sample_size
                       else np.sort(rng.choice(n_samples, size=sample_size, replace=False)))
        self.n_clusters, self.seed, self.frames_per_phase = int(n_clusters), int(seed), int(frames_per_phase)
        self.time_share = float(time_share)
        self.truth = None if truth is None else np.asarray(truth)[self.sample].astype(np.int32)
        self.frames: list[Frame] = []
        self.seconds = 0.0
        self._rows = None        # the sample as the network takes it
        self._looks: dict = {}   # {phase: (encode, assign)}
        self._encode = None      # the look of the latest phase: the result's frame uses it
        self._centres = None     # the k-means centres of the frame before, to start the next one from
        self._previous = None    # the 2-D points of the frame before, to turn the next one towards
        self._first_epoch = 0.0  # seconds the current phase's first epoch took

    # -- what the estimator tells it ---------------------------------------------------------------
    def follow(self, inputs: np.ndarray) -> None:
        """The inputs of the network (all images, in the shape it takes); frames embed the sample's rows."""
        self._rows = np.asarray(inputs)[self.sample]

    def watch(self, phase: str, encode: Callable, assign: Optional[Callable] = None) -> None:
        """Take frames at the ends of `phase`'s epochs: `encode(rows)` embeds the sample with the network as it
        is then; `assign(embedding)` gives the model's clusters (None: a k-means of the sample's embedding)."""
        self._looks[phase] = (encode, assign)
        self._encode = encode

    def wrap(self, callback: Optional[ProgressCallback]) -> ProgressCallback:
        """`callback`, with a frame added to the end events of the epochs due one."""

        def watched(event):
            if event.end_of_epoch and event.phase in self._looks and self._due(event):
                frame = self._take(event.phase, event.epoch, event.n_epochs)
                if frame is not None:
                    event = replace(event, frame=frame)
            if callback is not None:
                callback(event)

        return watched

    def finish(self, labels: np.ndarray) -> Optional[Frame]:
        """The result's frame: the trained network's embedding of the sample, in the run's final clusters
        (`labels`, one per image of the fit). None (and no frame) where no epoch was watched."""
        if not self.frames or self._encode is None:
            return None
        final = np.asarray(labels)[self.sample]
        return self._take("result", 0, 0, labels=final)

    # -- taking a frame ------------------------------------------------------------------------------
    def _due(self, event) -> bool:
        """Whether the epoch that `event` ends gets a frame: the first and the last do, and every stride-th,
        the stride set by how many frames the phase may have."""
        epoch, n_epochs = event.epoch, event.n_epochs
        if epoch == 1:
            self._first_epoch = event.elapsed  # it compiles the step: the epochs after it tell its pace
        if epoch in (1, n_epochs):
            return True
        allowed = self.frames_per_phase
        if self.frames and self.seconds > 0 and event.elapsed > self._first_epoch:
            phase_seconds = (event.elapsed - self._first_epoch) / (epoch - 1) * n_epochs
            affordable = int(self.time_share * phase_seconds / (self.seconds / len(self.frames)))
            allowed = min(allowed, max(affordable, MIN_FRAMES_PER_PHASE))
        stride = max(1, math.ceil(n_epochs / allowed))
        return epoch % stride == 0

    def _take(self, phase: str, epoch: int, n_epochs: int, labels=None) -> Optional[Frame]:
        if self._rows is None:
            return None
        start = time.perf_counter()
        encode, assign = self._looks.get(phase, (self._encode, None))
        rows = self._rows
        embedding = np.concatenate([np.asarray(encode(rows[i:i + ENCODE_BATCH]), dtype=np.float64).reshape(
            len(rows[i:i + ENCODE_BATCH]), -1) for i in range(0, len(rows), ENCODE_BATCH)])
        if not np.all(np.isfinite(embedding)):
            return None  # a diverging network: the loop says so itself
        # One thread: a few thousand points need no more, and the network's threads are busy training (on 2
        # loaded cores a threaded k-means of 1,797 points took 0.19 s, a single-threaded one 0.03 s).
        with threadpool_limits(1):
            if labels is None:
                labels = assign(embedding) if assign is not None else self._kmeans(embedding)
            points = self._plane(embedding)
        first = not self.frames
        frame = Frame(phase, int(epoch), int(n_epochs), points.astype(np.float16),
                      np.asarray(labels).astype(np.int16), sample=self.sample.astype(np.int32) if first else None,
                      truth=self.truth if first else None)
        self.frames.append(frame)
        self.seconds += time.perf_counter() - start
        return frame

    def _kmeans(self, embedding: np.ndarray) -> np.ndarray:
        """A k-means of the sample, started from the frame before's centres when they fit."""
        k = min(self.n_clusters, len(embedding))
        warm = self._centres is not None and self._centres.shape == (k, embedding.shape[1])
        fitted = KMeans(k, init=self._centres if warm else "k-means++", n_init=1 if warm else 3,
                        max_iter=KMEANS_ITERATIONS, random_state=self.seed).fit(embedding)
        self._centres = fitted.cluster_centers_
        return fitted.labels_

    def _plane(self, embedding: np.ndarray) -> np.ndarray:
        """The sample in 2-D: its two principal components, centred, at unit root-mean-square radius, turned
        (or mirrored) to lie as close as it can to the frame before."""
        centred = embedding - embedding.mean(axis=0)
        if centred.shape[1] >= 2:
            _, _, axes = np.linalg.svd(centred, full_matrices=False)
            points = centred @ axes[:2].T
        else:
            points = np.hstack([centred[:, :1], np.zeros((len(centred), 1))])
        radius = math.sqrt(float(np.mean(np.sum(points ** 2, axis=1))))
        if radius > 0:
            points = points / radius
        if self._previous is not None:
            left, _, right = np.linalg.svd(points.T @ self._previous)
            points = points @ (left @ right)
        self._previous = points
        return points
