"""DEC's clustering head (Student-t soft assignments, the sharpened target distribution) and the
batched distance kernel that TensorFlow k-means and the SOM share."""
from __future__ import annotations

import core.models  # noqa: F401  (imports TensorFlow quietly)
import tensorflow as tf


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
