"""DEC's clustering head (Student-t soft assignments, the sharpened target distribution) and its clustering
phase, and the batched distance kernel that TensorFlow k-means and the SOM share."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly)
import tensorflow as tf

from core.models.autoencoder import encode
from core.models.devices import distribution_scope
from core.models.training import adam, compiled_step, prefers_xla, run_epochs


def squared_distances(points, centers):
    """Squared Euclidean distance of every row of `points` to every row of `centers`, (N, K), by
    one matrix product (memory N x K, not N x K x d) and clipped at 0 against rounding."""
    squared = (tf.reduce_sum(tf.square(points), axis=1, keepdims=True)
               - 2.0 * tf.matmul(points, centers, transpose_b=True)
               + tf.reduce_sum(tf.square(centers), axis=1)[tf.newaxis, :])
    return tf.maximum(squared, 0.0)


def soft_assignments(embedding, centers, alpha: float = 1.0):
    """q_ij, the Student-t kernel between sample i and centre j, normalised over j (DEC eq. 1)."""
    squared = tf.reduce_sum(tf.square(tf.expand_dims(embedding, 1) - tf.expand_dims(centers, 0)), axis=2)
    q = tf.pow(1.0 + squared / alpha, -(alpha + 1.0) / 2.0)
    return q / tf.reduce_sum(q, axis=1, keepdims=True)


def target_distribution(q):
    """p_ij = (q_ij^2 / f_j) normalised over j, with f_j the soft cluster frequency (DEC eq. 3)."""
    weight = q ** 2 / tf.reduce_sum(q, axis=0)
    return weight / tf.reduce_sum(weight, axis=1, keepdims=True)


def kl_divergence(p, q):
    """Mean over the batch of KL(P_i || Q_i)."""
    eps = 1e-10
    return tf.reduce_mean(tf.reduce_sum(p * tf.math.log((p + eps) / (q + eps)), axis=1))


KERNEL_DISTANCE = 3.0  # RMS distance to the nearest centre inside the Student-t kernel (see kernel_scale)


def kernel_scale(embedding: np.ndarray, centers: np.ndarray) -> float:
    """The factor applied to the embedding inside DEC's Student-t kernel.

    The kernel is not scale-free: on an embedding whose points lie ~0.5 from their centre (the
    dense autoencoder on digits), every soft assignment is nearly uniform and the clustering
    loss degrades the k-means start. Scaling so that the root-mean-square distance to the
    nearest centre is `KERNEL_DISTANCE` puts the kernel in the regime DEC was designed for.
    Computed from the embedding only (no labels).
    """
    nearest = ((embedding[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    return float(KERNEL_DISTANCE / max(np.sqrt(nearest.mean()), 1e-8))


@dataclass
class ClusteringPhase:
    """What DEC's clustering phase leaves: the training samples' embedding and soft assignments Q, the
    centres and the kernel's scale (new samples are placed with the same kernel), the fraction of labels
    changed at each refresh of the target, and one history line per epoch."""

    embedding: np.ndarray
    probabilities: np.ndarray
    centers: np.ndarray
    scale: float
    label_changes: list
    history: list


def train_clustering_phase(autoencoder, inputs: np.ndarray, initial_embedding: np.ndarray,
                           initial_centers: np.ndarray, initial_labels: np.ndarray, *, gamma: float,
                           uses_decoder: bool, alpha: float, learning_rate: float, batch_size: int,
                           update_interval: Optional[int], epochs: int, tol: float, seed: int, callback=None,
                           title: str = "DEC", watch=None) -> ClusteringPhase:
    """DEC's clustering phase (Xie et al. 2016; IDEC's with `uses_decoder`, Guo et al. 2017).

    Trains the encoder and the centres (and, for IDEC, the decoder) with Adam on `gamma` x KL(P || Q)
    (+ the reconstruction error for IDEC), Q the Student-t soft assignments and P the sharpened target,
    refreshed every `update_interval` batches (None: once per pass over the data). It starts from the
    encoder's `initial_embedding` of `inputs`, clustered by `initial_centers` into `initial_labels`. Stops
    after `epochs` passes, or once fewer than `tol` of the labels change between refreshes. Runs in the
    shared epoch loop (:func:`core.models.training.run_epochs`): its shuffling, progress, cancel and
    "stop and keep". `watch(phase, encode, assign)`, where given, learns how to picture the phase (the live
    view: :meth:`core.algorithms.watch.FrameRecorder.watch`).
    """
    scale = kernel_scale(initial_embedding, initial_centers)
    with distribution_scope():
        centers = tf.Variable((initial_centers * scale).astype(np.float32), name="cluster_centers")
    train_step = _clustering_step(autoencoder, tf.constant(inputs), centers, scale, gamma=gamma, alpha=alpha,
                                  uses_decoder=uses_decoder, learning_rate=learning_rate)

    def assignments(embedding: np.ndarray) -> np.ndarray:
        return np.asarray(soft_assignments(embedding * scale, centers, alpha))

    if watch is not None:
        watch("cluster", lambda rows: encode(autoencoder, rows),
              lambda embedding: assignments(np.asarray(embedding, dtype=np.float32)).argmax(axis=1))
    n = len(inputs)
    batch_size = int(min(batch_size, n))
    target = _Target(assignments, lambda: encode(autoencoder, inputs), initial_embedding, initial_labels,
                     interval=update_interval or int(np.ceil(n / batch_size)), tol=tol)

    def step(indices):
        return train_step(indices, target.rows(indices))

    history = run_epochs(step, n, epochs=epochs, batch_size=batch_size, seed=seed, callback=callback,
                         phase="cluster", title=f"{title}: refining clusters", before_step=target.refresh,
                         diverged=f"{title}'s clustering loss diverged (became {{loss}}) in epoch {{epoch}}; "
                                  "try a smaller cluster learning rate.")
    embedding = encode(autoencoder, inputs)
    return ClusteringPhase(embedding=embedding, probabilities=assignments(embedding), centers=centers.numpy() / scale,
                           scale=float(scale), label_changes=target.changes, history=history)


def _clustering_step(autoencoder, data, centers: tf.Variable, scale: float, *, gamma: float, alpha: float,
                     uses_decoder: bool, learning_rate: float):
    """A compiled step of the clustering phase with its own Adam: the batch of `data` at the given indices,
    its target rows P, and the loss gamma x KL(P || Q) (+ the reconstruction error with `uses_decoder`)."""
    encoder, decoder = autoencoder.encoder, autoencoder.decoder
    variables = encoder.trainable_variables + [centers]
    if uses_decoder:
        variables += decoder.trainable_variables

    def loss(batch, target):
        z_raw = encoder(batch, training=True)
        value = gamma * kl_divergence(target, soft_assignments(z_raw * scale, centers, alpha))
        if uses_decoder:
            value = value + tf.reduce_mean(tf.square(batch - decoder(z_raw, training=True)))
        return value

    return compiled_step(loss, variables, adam(learning_rate, autoencoder),
                         prepare=lambda indices, target: (tf.gather(data, indices), target),
                         input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.float32)],
                         jit_compile=prefers_xla(autoencoder))


class _Target:
    """DEC's target distribution P, refreshed every `interval` steps from the soft assignments of the
    current embedding (the initial one at step 0, before any training). Keeps the fraction of labels
    that changed at each refresh; a refresh says True once fewer than `tol` changed."""

    def __init__(self, assignments, embed, initial_embedding: np.ndarray, initial_labels: np.ndarray, *,
                 interval: int, tol: float):
        self.assignments, self.embed, self.initial_embedding = assignments, embed, initial_embedding
        self.labels, self.interval, self.tol = initial_labels, interval, tol
        self.target: Optional[np.ndarray] = None
        self.changes: list = []

    def refresh(self, step: int) -> bool:
        if step % self.interval:
            return False
        q = self.assignments(self.initial_embedding if step == 0 else self.embed())
        self.target = np.asarray(target_distribution(q), dtype=np.float32)
        labels = q.argmax(axis=1)
        changed = float(np.mean(labels != self.labels))
        self.labels = labels
        if step == 0:
            return False
        self.changes.append(changed)
        return changed < self.tol

    def rows(self, indices) -> tf.Tensor:
        """The target's rows for a batch's indices."""
        return tf.constant(self.target[indices.numpy()])
