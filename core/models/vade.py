"""VaDE (Jiang et al., 2017): a variational autoencoder whose prior is a mixture of Gaussians.

The generative model is c ~ Cat(pi), z ~ N(mu_c, diag(sigma_c^2)), x ~ p(x | decoder(z)); the
encoder gives q(z | x) = N(z_mean, diag(exp(z_log_var))) and q(c | x) is approximated by
gamma_c = p(c | z). `VaDEModel` holds the networks and the mixture's parameters (pi through softmax
logits, mu_c and log sigma_c^2, all trainable), `vade_loss` is the negative ELBO (the paper's
equation 17, every constant included, in nats per sample), `train_vade` minimises it with Adam in a
custom `tf.function` step like :func:`core.models.autoencoder.train_autoencoder`, and
`sample_components` decodes draws from chosen mixture components.

The decoder is Gaussian with a fixed variance shared by all pixels (``noise_variance``), which works
for data in [0, 1] and for standardised data alike; the reconstruction term is
``sum((x - x_hat)^2) / (2 noise_variance) + D/2 log(2 pi noise_variance)``.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly before the lines below)
import keras
import tensorflow as tf

from core.models.devices import distribution_scope
from core.models.training import adam, compiled_step, prefers_xla, run_epochs
from core.progress import ProgressCallback

LOG_2PI = math.log(2.0 * math.pi)


class VaDEModel(keras.Model):
    """The VaDE network: an encoder with mean and log-variance heads, a decoder and a GMM prior.

    The mean network and the decoder are taken as they are (their layers, hence their weights, are
    shared with the models passed in, e.g. a pretrained autoencoder's); the log-variance head is a
    new linear layer on the mean network's last hidden layer, with zero kernel and a constant bias,
    so every sample starts with the same small posterior variance ``exp(initial_log_variance)``.

    Parameters
    ----------
    encoder : keras.Model
        Functional model from inputs to the latent mean, whose last layer is the linear mean head.
    decoder : keras.Model
        From the latent space to the (flat) inputs.
    weights, means, variances : array-like of shape (K,), (K, d), (K, d)
        Initial mixture weights pi, component means mu_c and diagonal variances sigma_c^2.
    initial_log_variance : float or array-like of shape (d,), default=-4.0
        Initial log sigma^2 of q(z | x) (the bias of the log-variance head).
    noise_variance : float, default=1.0
        Variance of the Gaussian decoder p(x | z) (per pixel).
    seed : int, default=0
        Seeds the reparameterisation noise (`train_vade`).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, weights, means, variances, *,
                 initial_log_variance=-4.0, noise_variance: float = 1.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        means = np.asarray(means, dtype=np.float32)
        variances = np.asarray(variances, dtype=np.float32)
        weights = np.asarray(weights, dtype=np.float64)
        self.n_clusters, self.latent_dim = means.shape
        self.encoder = encoder
        self.decoder = decoder
        self.noise_variance = float(noise_variance)
        self.seed = int(seed)
        hidden = encoder.layers[-2].output
        bias = np.broadcast_to(np.asarray(initial_log_variance, dtype=np.float32), (self.latent_dim,)).copy()
        with distribution_scope():  # beside the encoder's and decoder's weights (core.models.devices)
            log_variance_head = keras.layers.Dense(
                self.latent_dim, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(bias),
                dtype="float32", name="encoder_log_variance",  # float32 under mixed precision, as the mean head
            )
            self.posterior = keras.Model(encoder.input, [encoder.output, log_variance_head(hidden)], name="posterior")
            self.pi_logits = self.add_weight(
                shape=(self.n_clusters,), name="pi_logits",
                initializer=keras.initializers.Constant(np.log(np.maximum(weights, 1e-8)).astype(np.float32)),
            )
            self.component_means = self.add_weight(
                shape=means.shape, name="component_means", initializer=keras.initializers.Constant(means),
            )
            self.component_log_variances = self.add_weight(
                shape=variances.shape, name="component_log_variances",
                initializer=keras.initializers.Constant(np.log(np.maximum(variances, 1e-8))),
            )
        self.built = True  # every weight exists now (the networks are built): saving needs no call first

    # -- the mixture prior ------------------------------------------------------------------------
    @property
    def mixture_weights(self) -> np.ndarray:
        """pi, shape (K,)."""
        return np.asarray(tf.nn.softmax(self.pi_logits)).astype(np.float64)

    @property
    def mixture_means(self) -> np.ndarray:
        """mu_c, shape (K, d)."""
        return np.asarray(self.component_means).astype(np.float32)

    @property
    def mixture_variances(self) -> np.ndarray:
        """sigma_c^2, shape (K, d)."""
        return np.asarray(tf.exp(self.component_log_variances)).astype(np.float32)

    def joint_log_likelihood(self, z):
        """log pi_c + log N(z | mu_c, sigma_c^2) for every sample and component, shape (N, K)."""
        log_variances = self.component_log_variances[None, :, :]
        squared = tf.square(z[:, None, :] - self.component_means[None, :, :]) / tf.exp(log_variances)
        log_normal = -0.5 * tf.reduce_sum(LOG_2PI + log_variances + squared, axis=2)
        return tf.nn.log_softmax(self.pi_logits)[None, :] + log_normal

    def cluster_probabilities(self, z):
        """gamma = p(c | z), shape (N, K), rows summing to 1."""
        return tf.nn.softmax(self.joint_log_likelihood(z), axis=1)

    # -- the networks -----------------------------------------------------------------------------
    def call(self, inputs, training=False):
        """The reconstruction of `inputs` from their latent means."""
        z_mean, _ = self.posterior(inputs, training=training)
        return self.decoder(z_mean, training=training)


def vade_loss(model: VaDEModel, x, z_mean, z_log_var, z, reconstruction):
    """The negative ELBO of each sample (VaDE, eq. 17), shape (N,).

    ``z`` is the reparameterised sample from q(z | x) that gamma = p(c | z) is computed from (as in
    the paper's reference code), the Gaussian expectations over q(z | x) are in closed form.
    """
    noise_variance = model.noise_variance
    n_features = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
    flat_error = tf.reshape(tf.square(x - reconstruction), [tf.shape(x)[0], -1])
    reconstruction_term = (0.5 * tf.reduce_sum(flat_error, axis=1) / noise_variance
                           + 0.5 * n_features * math.log(2.0 * math.pi * noise_variance))

    joint = model.joint_log_likelihood(z)
    gamma = tf.nn.softmax(joint, axis=1)
    log_gamma = tf.nn.log_softmax(joint, axis=1)
    log_variances = model.component_log_variances[None, :, :]  # (1, K, d)
    expected_log_prior = 0.5 * tf.reduce_sum(
        LOG_2PI + log_variances
        + (tf.exp(z_log_var)[:, None, :] + tf.square(z_mean[:, None, :] - model.component_means[None, :, :]))
        / tf.exp(log_variances),
        axis=2,
    )  # -E_q[log p(z | c)], (N, K)
    log_pi = tf.nn.log_softmax(model.pi_logits)[None, :]
    mixture_term = tf.reduce_sum(gamma * (expected_log_prior - log_pi + log_gamma), axis=1)
    posterior_entropy = 0.5 * tf.reduce_sum(1.0 + LOG_2PI + z_log_var, axis=1)
    return reconstruction_term + mixture_term - posterior_entropy


def train_vade(
    model: VaDEModel,
    X: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    callback: Optional[ProgressCallback] = None,
    phase: str = "cluster",
    history_phase: str = "vade",
) -> list[dict]:
    """Minimise the negative ELBO of `model` on `X` (shaped as the encoder takes it) with Adam.

    Every trainable weight moves: encoder, log-variance head, decoder and the mixture's pi, mu_c and
    sigma_c^2. Shuffling and the reparameterisation noise are seeded by `seed`. Reports to `callback`
    after every batch and once more at each epoch's end (phase `phase`); a callback that raises
    `TrainingCancelled` stops training.

    Returns the history: one ``{"phase": history_phase, "epoch", "loss", "elapsed"}`` dict per epoch,
    ``loss`` being the mean negative ELBO per sample in nats.

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN or infinite (diverging training): lower the learning rate.
    """
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    batch_size = int(min(batch_size, n))
    data = tf.constant(X)
    variables = model.posterior.trainable_variables + model.decoder.trainable_variables + [
        model.pi_logits, model.component_means, model.component_log_variances]
    with distribution_scope():  # under a mirrored strategy each device draws its own stream
        noise = tf.random.Generator.from_seed(seed)

    def loss(batch):
        z_mean, z_log_var = model.posterior(batch, training=True)
        z = z_mean + tf.exp(0.5 * z_log_var) * noise.normal(tf.shape(z_mean))
        reconstruction = model.decoder(z, training=True)
        return tf.reduce_mean(vade_loss(model, batch, z_mean, z_log_var, z, reconstruction))

    train_step = compiled_step(loss, variables, adam(learning_rate, model),
                               prepare=lambda batch_indices: (tf.gather(data, batch_indices),),
                               input_signature=[tf.TensorSpec([None], tf.int32)],
                               jit_compile=prefers_xla(model.decoder))
    return run_epochs(train_step, n, epochs=epochs, batch_size=batch_size, seed=seed,
                      callback=callback, phase=phase, history_phase=history_phase,
                      title="VaDE: training the mixture VAE",
                      diverged="VaDE's loss (the negative ELBO) diverged (became {loss}) in epoch {epoch}; "
                               "try a smaller VaDE learning rate.")


def encode_posterior(model: VaDEModel, X: np.ndarray, batch_size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(z_mean, z_log_var) of q(z | x) for `X`, each float32 of shape (N, latent_dim)."""
    X = np.asarray(X, dtype=np.float32)
    means, log_variances = [], []
    for i in range(0, len(X), batch_size):
        mean, log_variance = model.posterior(X[i:i + batch_size], training=False)
        means.append(np.asarray(mean))
        log_variances.append(np.asarray(log_variance))
    return np.concatenate(means).astype(np.float32), np.concatenate(log_variances).astype(np.float32)


def cluster_probabilities(model: VaDEModel, Z: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """gamma = p(c | z) for embeddings `Z`, float64 of shape (N, K), rows summing to 1."""
    Z = np.asarray(Z, dtype=np.float32)
    parts = [np.asarray(model.joint_log_likelihood(tf.constant(Z[i:i + batch_size])), dtype=np.float64)
             for i in range(0, len(Z), batch_size)]
    joint = np.concatenate(parts) if parts else np.zeros((0, model.n_clusters))
    joint -= joint.max(axis=1, keepdims=True)
    probabilities = np.exp(joint)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def sample_components(model: VaDEModel, components, n_samples: int, *, seed: int = 0) -> np.ndarray:
    """Decode `n_samples` draws z ~ N(mu_c, sigma_c^2) from each component c in `components`.

    Returns float32 of shape (len(components), n_samples, *decoder output shape), unclipped. The
    draws are seeded by `seed`: equal seeds give equal samples.
    """
    components = np.atleast_1d(np.asarray(components, dtype=np.int64))
    if np.any((components < 0) | (components >= model.n_clusters)):
        raise ValueError(f"components must lie in [0, {model.n_clusters - 1}]; got {components.tolist()}.")
    rng = np.random.default_rng(seed)
    means, stds = model.mixture_means, np.sqrt(model.mixture_variances)
    z = means[components][:, None, :] + stds[components][:, None, :] * rng.standard_normal(
        (len(components), n_samples, model.latent_dim)).astype(np.float32)
    flat = z.reshape(-1, model.latent_dim).astype(np.float32)
    decoded = np.asarray(model.decoder(flat, training=False)) if len(flat) else np.zeros(
        (0,) + tuple(model.decoder.output_shape[1:]), dtype=np.float32)
    return decoded.reshape((len(components), n_samples) + decoded.shape[1:]).astype(np.float32)
