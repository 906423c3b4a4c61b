"""Features from an image network pretrained on ImageNet, as an embedding to cluster.

An autoencoder trained on a user's colour photos learns what dominates the pixels: colour and light.
A network trained to recognise a thousand kinds of objects has already learned edges, textures and
parts, and its pooled last features group photos by what they show. `image_features` runs
MobileNetV2 (Keras Applications; 2.3 M weights, quick on a CPU) without its classifier on images
resized to 96x96, and returns the 1,280 average-pooled features of each image.

The ImageNet weights are downloaded once by Keras into ``~/.keras/models`` (about 9 MB; Keras checks
the file's hash) and read from there afterwards. Without a connection the first time,
:class:`core.data.DatasetUnavailable` says so, as the downloaded datasets do. Tests pass
``weights=None`` (random weights): the same network and code path, no download.
"""
from __future__ import annotations

import os
import socket
from typing import Callable, Optional

import numpy as np
from core import quiet_tensorflow_import
from core.data.dataset import DatasetUnavailable
from core.data.images import colour_images

NETWORK_TITLE = "MobileNetV2 (ImageNet)"
INPUT_SIDE = 96           # one of the sizes MobileNetV2's ImageNet weights come in (96 to 224): quick on a CPU
FEATURES = 1280
DOWNLOAD_TIMEOUT = 30     # seconds without an answer before the weights' download counts as failed

WEIGHTS_ENV = "DEEP_CLUSTERING_IMAGENET_WEIGHTS"  # "random": the network with random weights (tests, no download)

_networks: dict = {}      # one built network per weights choice and process


def weights_choice() -> Optional[str]:
    """"imagenet", or None (random weights) when $DEEP_CLUSTERING_IMAGENET_WEIGHTS is "random"."""
    return None if os.environ.get(WEIGHTS_ENV, "imagenet").lower() == "random" else "imagenet"


def _network(weights: Optional[str]):
    """MobileNetV2 without its classifier, average-pooled, built once per process."""
    if weights in _networks:
        return _networks[weights]

    quiet_tensorflow_import()
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)  # Keras downloads with no timeout of its own
    try:
        network = keras.applications.MobileNetV2(input_shape=(INPUT_SIDE, INPUT_SIDE, 3), include_top=False,
                                                 weights=weights, pooling="avg")
    except Exception as error:  # Keras raises a bare Exception when a fetch fails
        raise DatasetUnavailable(
            f"The pretrained network's ImageNet weights could not be downloaded. They need an internet "
            f"connection the first time (about 9 MB, then read from ~/.keras/models). Every other embedding "
            f"still works. Details: {error}") from error
    finally:
        socket.setdefaulttimeout(previous)
    _networks[weights] = network
    return network


def network_inputs(images: np.ndarray) -> np.ndarray:
    """Images (N, H, W, C) in [0, 1], as MobileNetV2 takes them: 96x96, three channels, in [-1, 1].

    Grey images are repeated into three channels, four channels lose the fourth; values outside
    [0, 1] (another preprocessing than the default scaling) are clipped, by a rule that does not
    depend on the batch, so new images are treated as the training ones. A table is refused."""
    import tensorflow as tf

    X = colour_images(images, "a pretrained image network")
    resized = tf.image.resize(X, (INPUT_SIDE, INPUT_SIDE), method="bilinear")
    return (resized.numpy() * 2.0 - 1.0).astype(np.float32)


def image_features(images: np.ndarray, *, weights: Optional[str] = "imagenet", batch_size: int = 64,
                   report: Optional[Callable[[str, float], None]] = None) -> np.ndarray:
    """The 1,280 pooled MobileNetV2 features of each image, float32 of shape (N, 1280).

    `report(message, fraction)` is called after each batch (it may raise to cancel).

    Raises
    ------
    DatasetUnavailable
        When the ImageNet weights are not cached and cannot be downloaded.
    ValueError
        When the data are not images.
    """
    network = _network(weights)
    features = np.empty((len(images), FEATURES), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        batch = network_inputs(images[start:start + batch_size])
        features[start:start + len(batch)] = np.asarray(network(batch, training=False))
        if report is not None:
            report(f"Computing {NETWORK_TITLE} features: {min(start + batch_size, len(images)):,} of "
                   f"{len(images):,} images", min(1.0, (start + batch_size) / len(images)))
    return features
