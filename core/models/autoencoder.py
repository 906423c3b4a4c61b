"""Autoencoders and their training loop.

`DenseAutoencoder` (d-500-500-2000-latent by default, as in DEC and N2D) takes flattened images;
`ConvAutoencoder` (as in DCEC) takes NHWC images of any size and channel count. Both expose
`encoder` and `decoder` submodels, which is all `train_autoencoder` and `encode` rely on. Their weights are
made in the distribution scope (:mod:`core.models.devices`: on every GPU where there are several), and built
under the mixed-precision policy (:func:`core.models.training.precision`) their hidden layers compute in
float16 while their output layers stay float32.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly before the lines below)
import keras
import tensorflow as tf

from core.models.devices import distribution_scope
from core.models.training import adam, compiled_step, prefers_xla, restarts, run_epochs
from core.progress import ProgressCallback

DEFAULT_HIDDEN_UNITS = (500, 500, 2000)


def _initializer(seed: int):
    # DEC's reference initialisation: uniform, variance 1/(3 fan_in). On digits it gave k-means a
    # better embedding than Glorot (NMI 0.76-0.78 against 0.71-0.76 after 75 epochs, 4 seeds).
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)


def _dense_stack(input_dim: int, units: Sequence[int], output_dim: int, seed: int, name: str) -> keras.Model:
    inputs = keras.Input(shape=(input_dim,), name=f"{name}_input")
    x = inputs
    for i, width in enumerate(units):
        x = keras.layers.Dense(
            width,
            activation="relu",
            kernel_initializer=_initializer(seed + i),
            name=f"{name}_dense_{i}",
        )(x)
    outputs = keras.layers.Dense(
        output_dim,
        kernel_initializer=_initializer(seed + len(units)),
        dtype="float32",  # float32 under mixed precision too: the embedding and the loss stay exact
        name=f"{name}_out",
    )(x)
    return keras.Model(inputs, outputs, name=name)


class DenseAutoencoder(keras.Model):
    """A symmetric fully connected autoencoder built from a functional encoder and decoder.

    Parameters
    ----------
    input_dim : int
        Number of input features (pixels x channels).
    latent_dim : int, default=10
        Size of the embedding (the encoder's linear output layer).
    hidden_units : sequence of int, default=(500, 500, 2000)
        Widths of the encoder's hidden ReLU layers; the decoder mirrors them.
    seed : int, default=0
        Seed of the weight initialisers, so that two models built alike start alike.
    """

    def __init__(self, input_dim: int, latent_dim: int = 10,
                 hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.latent_dim = int(latent_dim)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        with distribution_scope():
            self.encoder = _dense_stack(self.input_dim, self.hidden_units, self.latent_dim, seed, "encoder")
            self.decoder = _dense_stack(self.latent_dim, self.hidden_units[::-1], self.input_dim, seed + 100,
                                        "decoder")

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)


def train_autoencoder(
    autoencoder: keras.Model,
    X: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    callback: Optional[ProgressCallback] = None,
    phase: str = "pretrain",
    input_dropout: float = 0.0,
    restart_every: int = 0,
    augment_shape: Optional[tuple] = None,
) -> list[dict]:
    """Minimise the mean squared reconstruction error of `autoencoder` on `X` with Adam.

    With ``input_dropout > 0`` it is a denoising autoencoder: that fraction of each input's pixels
    is zeroed during training (as in DEC's stacked denoising autoencoder), the target stays clean.

    With `augment_shape` (the images' (H, W, C)) each batch is first moved and turned at random
    (:func:`augmenter`: shifts of up to a tenth of a side, turns of up to 10 degrees) and the network
    learns to rebuild the moved images (DEC-DA, Guo et al. 2018): its embedding stops telling apart
    images that differ only by where the shape sits. A flat input is reshaped to the images for that.

    With ``restart_every > 0`` Adam restarts (fresh moment estimates) every that many epochs, a warm
    restart in the sense of SGDR (Loshchilov and Hutter, 2017). On digits, 75 epochs with restarts
    every 25 gave k-means embeddings with NMI 0.760-0.783 over four seeds, against 0.710-0.758 for
    one uninterrupted run (measured with bench/default_run.py and by hand).

    A custom `tf.function` step over shuffled batches: steadier and faster than `Model.fit` on small
    CPUs. Reports to `callback` after every batch (so a cancel takes effect within one batch; the
    receiver may throttle what it shows) and once more at each epoch's end; a callback that raises
    `TrainingCancelled` stops training at the next batch.

    Returns the history: one ``{"epoch", "loss", "elapsed"}`` dict per completed epoch.

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN or infinite (diverging training): lower the learning rate.
    """
    X = np.asarray(X, dtype=np.float32)  # flat for a dense model, NHWC for a convolutional one
    data = tf.constant(X)
    with distribution_scope():  # their random streams are variables too
        # One dropout layer for the whole training: its random stream runs on across optimiser restarts.
        corrupt = keras.layers.Dropout(input_dropout, seed=seed) if input_dropout > 0 else None
        augment = augmenter(augment_shape, seed) if augment_shape is not None else None  # one stream, like `corrupt`

    optimizer = adam(learning_rate, autoencoder)
    if augment is not None:
        step = _augmented_step(autoencoder, data, optimizer, corrupt, input_dropout, augment, augment_shape)
    else:
        step = _reconstruction_step(autoencoder, data, optimizer, corrupt, input_dropout)
    return run_epochs(step, len(X), epochs=epochs, before_epoch=restarts(optimizer, restart_every),
                      batch_size=int(min(batch_size, len(X))), seed=seed, callback=callback, phase=phase,
                      title="Training autoencoder on moved images" if augment is not None else "Training autoencoder",
                      diverged="the autoencoder's loss diverged (became {loss}) in epoch {epoch}; "
                               "try a smaller learning rate.")


def _reconstruction_loss(autoencoder, corrupt, input_dropout: float):
    """The mean squared error between a batch and the reconstruction of its corrupted copy."""

    def loss(batch):
        inputs = corrupt(batch, training=True) * (1.0 - input_dropout) if corrupt is not None else batch
        return tf.reduce_mean(tf.square(batch - autoencoder(inputs, training=True)))

    return loss


def _reconstruction_step(autoencoder, data, optimizer, corrupt, input_dropout: float):
    """The compiled step of :func:`_reconstruction_loss` on a batch of `data` given by its indices."""
    return compiled_step(_reconstruction_loss(autoencoder, corrupt, input_dropout), autoencoder.trainable_variables,
                         optimizer, prepare=lambda batch_indices: (tf.gather(data, batch_indices),),
                         input_signature=[tf.TensorSpec([None], tf.int32)], jit_compile=prefers_xla(autoencoder))


MAX_SHIFT = 0.1  # of each side
MAX_TURN_DEGREES = 10.0


def augmenter(image_shape, seed: int) -> keras.Sequential:
    """Random moves of a batch of images (N, H, W, C): shifts of up to `MAX_SHIFT` of each side and turns of
    up to `MAX_TURN_DEGREES`, as DEC-DA pretrains with; the edges are continued (nearest pixel), so a
    photo's border stays its own colour."""
    return keras.Sequential([
        keras.Input(tuple(image_shape)),
        keras.layers.RandomTranslation(MAX_SHIFT, MAX_SHIFT, fill_mode="nearest", seed=seed),
        keras.layers.RandomRotation(MAX_TURN_DEGREES / 360.0, fill_mode="nearest", seed=seed + 1),
    ], name="augment")


def _augmented_step(autoencoder, data, optimizer, corrupt, input_dropout: float, augment, image_shape):
    """As :func:`_reconstruction_step`, on a batch moved at random by `augment` (which XLA cannot compile:
    the moves run outside the compiled update, on the whole batch)."""
    learn = compiled_step(_reconstruction_loss(autoencoder, corrupt, input_dropout), autoencoder.trainable_variables,
                          optimizer, input_signature=None, jit_compile=prefers_xla(autoencoder))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def train_step(batch_indices):
        batch = tf.gather(data, batch_indices)
        moved = augment(tf.reshape(batch, (-1, *image_shape)), training=True)
        return learn(tf.reshape(moved, tf.shape(batch)))

    return train_step


def encode(autoencoder, X: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """The embedding of `X` (float32, shape (N, latent_dim)), computed in batches.

    `X` has the shape the autoencoder takes (flat for dense, NHWC for convolutional).
    """
    X = np.asarray(X, dtype=np.float32)
    parts = [autoencoder.encoder(X[i:i + batch_size], training=False) for i in range(0, len(X), batch_size)]
    return np.concatenate([np.asarray(p) for p in parts]).astype(np.float32)


def decode(autoencoder, Z: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """The decoder's output for embeddings `Z` (float32, the autoencoder's input shape)."""
    Z = np.asarray(Z, dtype=np.float32)
    parts = [autoencoder.decoder(Z[i:i + batch_size], training=False) for i in range(0, len(Z), batch_size)]
    return np.concatenate([np.asarray(p) for p in parts]).astype(np.float32)


def conv_layer_count(height: int, width: int, most: int) -> int:
    """How many stride-2 convolutions fit: halve while the smaller side stays at least 2 pixels."""
    side, count = min(height, width), 0
    while count < most and (side + 1) // 2 >= 2:
        side, count = (side + 1) // 2, count + 1
    return max(count, 1)


class ConvAutoencoder(keras.Model):
    """A convolutional autoencoder for images of any size and channel count (DCEC's architecture).

    The encoder is a stack of stride-2 convolutions (3x3 by default; 5x5, 5x5, then 3x3 in DCEC's
    paper) followed by a linear dense layer to the embedding; the decoder mirrors it with transposed
    convolutions and crops the result back to the input size. Fewer convolutions are used where the
    image is too small to halve three times (two for 8x8 digits, three for 28x28 or 32x32x3).

    Parameters
    ----------
    image_shape : tuple of int
        (height, width, channels).
    latent_dim : int, default=10
    filters : sequence of int, default=(32, 64, 128)
        Filters of each convolution, as many as the image size allows.
    kernel_sizes : sequence of int, default=(3, 3, 3)
        Side of each convolution's kernel (3 past the sequence's end). On 2 CPU cores 3x3 kernels train
        1.6x faster than DCEC's 5-5-3 (3,860 against 2,410 images a second at 28x28, batch 256).
    seed : int, default=0
    """

    def __init__(self, image_shape, latent_dim: int = 10, filters: Sequence[int] = (32, 64, 128),
                 kernel_sizes: Sequence[int] = (3, 3, 3), seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        height, width, channels = (int(v) for v in image_shape)
        self.image_shape = (height, width, channels)
        self.latent_dim = int(latent_dim)
        n_layers = conv_layer_count(height, width, len(filters))
        self.filters = tuple(int(f) for f in filters[:n_layers])
        kernels = [int(k) for k in kernel_sizes][:n_layers] + [3] * max(0, n_layers - len(kernel_sizes))
        self.kernel_sizes = tuple(kernels)
        with distribution_scope():
            self.encoder, feature_shape = _conv_encoder(self.image_shape, self.filters, kernels, self.latent_dim, seed)
            self.decoder = _conv_decoder(self.latent_dim, feature_shape, self.filters, kernels, self.image_shape, seed)

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)


def _conv_encoder(image_shape, filters, kernels, latent_dim: int, seed: int):
    """DCEC's encoder: stride-2 convolutions, then a linear dense layer to the embedding (float32 under mixed
    precision too); returns it and the shape of its last convolution's output."""
    inputs = keras.Input(shape=image_shape, name="encoder_input")
    x = inputs
    for i, (f, k) in enumerate(zip(filters, kernels)):
        x = keras.layers.Conv2D(f, k, strides=2, padding="same", activation="relu",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
                                name=f"encoder_conv_{i}")(x)
    feature_shape = tuple(int(v) for v in x.shape[1:])
    x = keras.layers.Flatten(name="encoder_flatten")(x)
    z = keras.layers.Dense(latent_dim, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 10),
                           dtype="float32", name="encoder_out")(x)
    return keras.Model(inputs, z, name="encoder"), feature_shape


def _conv_decoder(latent_dim: int, feature_shape, filters, kernels, image_shape, seed: int):
    """The mirror of :func:`_conv_encoder`: transposed convolutions, cropped back to the image's size; its output
    layers are float32 under mixed precision too."""
    height, width, channels = image_shape
    latent = keras.Input(shape=(latent_dim,), name="decoder_input")
    y = keras.layers.Dense(int(np.prod(feature_shape)), activation="relu", name="decoder_dense",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 20))(latent)
    y = keras.layers.Reshape(feature_shape, name="decoder_reshape")(y)
    up_filters = list(filters[-2::-1]) + [channels]
    for i, (f, k) in enumerate(zip(up_filters, kernels[::-1])):
        last = i == len(up_filters) - 1
        y = keras.layers.Conv2DTranspose(f, k, strides=2, padding="same", activation=None if last else "relu",
                                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 30 + i),
                                         dtype="float32" if last else None, name=f"decoder_deconv_{i}")(y)
    out_h, out_w = int(y.shape[1]), int(y.shape[2])
    if out_h != height or out_w != width:
        y = keras.layers.Cropping2D(((0, out_h - height), (0, out_w - width)), dtype="float32", name="decoder_crop")(y)
    return keras.Model(latent, y, name="decoder")
