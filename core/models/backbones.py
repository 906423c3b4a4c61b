"""Features of the vision backbones people cluster photos with today, through KerasHub presets.

A self-supervised or image-text backbone has learned what photos show from hundreds of millions of
images; clustering its features groups photos by content, which an autoencoder trained on a few thousand
of a user's photos cannot learn. Which backbones are offered, at which resolution, is said where the
spaces are declared (:data:`core.algorithms.spaces.BACKBONES`, readable without TensorFlow); a backbone
here is any object with those fields: ``preset`` (a KerasHub preset name), ``title``, ``side`` (images are
resized to side x side), ``download_mb`` and ``output`` ("class token": the first token of the last
layer, as DINOv2 is used; "image embedding": the backbone's own pooled image embedding, as CLIP and
SigLIP give it).

KerasHub downloads a preset's weights once into its cache (``~/.cache/kagglehub``) and reads them from
there afterwards; without a connection the first time, :class:`core.data.DatasetUnavailable` names the
preset and says how to get it. ``$DEEP_CLUSTERING_PRESETS`` names a folder holding presets by name (one
folder each, as ``save_to_preset`` writes them): a preset found there is loaded from it instead, through
the same ``from_preset`` call. Tests save small backbones with random weights there.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from core import quiet_tensorflow_import
from core.data.dataset import DatasetUnavailable
from core.data.images import colour_images

PRESETS_ENV = "DEEP_CLUSTERING_PRESETS"  # a folder of presets by name, read before KerasHub's download
DOWNLOAD_TIMEOUT = 60                    # seconds without an answer before a download counts as failed


_loaded: dict = {}  # where the preset is read from -> (feature function, image converter), once per process


def preset_location(backbone) -> str:
    """Where `backbone`'s preset is read from: its folder under $DEEP_CLUSTERING_PRESETS when there is
    one, else its KerasHub name (downloaded once into KerasHub's cache)."""
    folder = os.environ.get(PRESETS_ENV)
    if folder and (Path(folder) / backbone.preset / "config.json").is_file():
        return str(Path(folder) / backbone.preset)
    return backbone.preset


def load(backbone):
    """(features, image converter) of `backbone`, loaded once per process: `features(batch)` is the
    compiled feature function of the converted batch. DatasetUnavailable when its weights are not cached
    and cannot be downloaded."""
    where = preset_location(backbone)
    if where in _loaded:
        return _loaded[where]
    quiet_tensorflow_import()
    import keras_hub

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        # DINOv2 interpolates its position embeddings: it is built at the side asked for, not the preset's 518
        resized = {"image_shape": (backbone.side, backbone.side, 3)} if backbone.output == "class token" else {}
        model = keras_hub.models.Backbone.from_preset(where, **resized)
        converter = keras_hub.layers.ImageConverter.from_preset(where, image_size=(backbone.side, backbone.side))
    except Exception as error:  # KerasHub and kagglehub raise their own errors for a failed fetch
        raise DatasetUnavailable(
            f"The {backbone.title} weights (KerasHub preset {backbone.preset!r}, about {backbone.download_mb} MB) "
            f"are not in KerasHub's cache and could not be fetched: they are downloaded once, the first time, "
            f"with an internet connection. Or save the preset (keras_hub's save_to_preset) into a folder named "
            f"{backbone.preset} under the folder ${PRESETS_ENV} names. Every other embedding still works. "
            f"Details: {type(error).__name__}: {str(error)[:300]}") from error
    finally:
        socket.setdefaulttimeout(previous)
    import tensorflow as tf

    # compiled once (1.3-1.5x the eager call on 2 cores; the last, smaller batch traces once more)
    features = tf.function(lambda batch: _features_of(backbone, model, batch), reduce_retracing=True)
    _loaded[where] = (features, converter)
    return features, converter


def backbone_inputs(images: np.ndarray) -> np.ndarray:
    """Images (N, H, W, C) in [0, 1] as the image converters take them: three channels, 0-255."""
    return colour_images(images, "a pretrained vision backbone") * 255.0


def _features_of(backbone, model, batch):
    if backbone.output == "class token":
        return model({"images": batch})[:, 0]  # the first token of the last layer
    return model.get_vision_embeddings(batch)


def backbone_features(images: np.ndarray, backbone, *, batch_size: int = 32,
                      report: Optional[Callable[[str, float], None]] = None) -> np.ndarray:
    """The features of each image under `backbone`, float32 (N, D), computed in batches.
    `report(message, fraction)` is called after each batch; it may raise to cancel.

    Raises DatasetUnavailable when the weights are not cached and cannot be downloaded, ValueError when
    the data are not images."""
    features, converter = load(backbone)
    parts = []
    for start in range(0, len(images), batch_size):
        batch = converter(backbone_inputs(images[start:start + batch_size]))
        parts.append(np.asarray(features(batch), dtype=np.float32))
        if report is not None:
            done = min(start + batch_size, len(images))
            report(f"Computing {backbone.title} features: {done:,} of {len(images):,} images", done / len(images))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
