"""The space a method clusters in, as a part the estimator holds: the pixels, an autoencoder trained on the
images (or started from a pretrained one), or the features of a network pretrained on ImageNet.

An estimator builds its space from its own parameters (:meth:`ClusteringAlgorithm._make_space`), fits it
on the training images and clusters what it gives; after a save and load the same space is rebuilt from
the parameters around the saved network. Every space answers the same few questions:

``text()``               what it is called where a person reads it ("autoencoder embedding")
``points``               its points, in a progress message ("the embedding")
``encode_phase``         the phase encoding is timed and reported under when it is work of its own, else None
``inputs(X)``            the images in the shape its network takes (flat, or NHWC for convolutions)
``fit(inputs, ...)``     learn it (an autoencoder trains, in mixed precision if asked, or is reused; pixels and
                         ImageNet learn nothing)
``encode(inputs)``       the coordinates the clustering is made in
``progress_plan()``      the phases `fit` reports, with their expected share of the time
``check(n_features)``    refuse settings that cannot work on samples of that many values
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from core.params import ParameterError
from core.progress import PhaseReporter

DEFAULT_HIDDEN_UNITS = (500, 500, 2000)
DEFAULT_FILTERS = (32, 64, 128)
ARCHITECTURES = ("auto", "dense", "convolutional")
CONV_MIN_SIDE = 16  # "auto" takes the convolutional network for images at least this many pixels a side
PRETRAIN_KEY_FORMAT = 1  # raise when the training code changes what the same settings produce


def resolve_architecture(architecture: str, image_shape) -> str:
    """The network an `architecture` setting means for samples of `image_shape` (without the sample axis).

    "auto" is convolutional for images (H, W, C) of at least 16 pixels a side, where convolutions see
    strokes and shapes that a dense network must learn at every position, and dense otherwise (8x8
    digits, tables, vectors).
    """
    if architecture != "auto":
        return architecture
    return "convolutional" if _image_side(image_shape) >= CONV_MIN_SIDE else "dense"


def _image_side(image_shape) -> int:
    """The shorter side of an image of `image_shape` (H, W, C); 0 for anything else (a table's row, unknown)."""
    shape = tuple(image_shape) if image_shape is not None else ()
    return min(shape[0], shape[1]) if len(shape) == 3 else 0


AUGMENT_CHOICES = ("auto", "on", "off")


def resolve_augment(augment: str, image_shape) -> bool:
    """Whether pretraining moves the images at random (:func:`core.models.autoencoder.augmenter`): "auto"
    does for images of at least 16 pixels a side, as :func:`resolve_architecture` draws its line (a tenth of
    8x8 digits is under a pixel, and tables have no sides to move)."""
    side = _image_side(image_shape)
    return side >= CONV_MIN_SIDE if augment == "auto" else augment == "on" and side >= 2


def auto_batch_size(n_samples: int) -> int:
    """The default batch: 256, halved (down to 32) until an epoch has at least 25 steps.

    Small datasets otherwise get very few updates per epoch (7 for digits at 256); on digits,
    batches of 64 gave N2D an NMI of 0.91-0.92 against 0.84-0.86 at 256, at the same epoch count.
    """
    batch = 256
    while batch > 32 and n_samples / batch < 25:
        batch //= 2
    return batch


def batch_for(batch_size: Optional[int], n_samples: int) -> int:
    """A `batch_size` setting for `n_samples` samples: itself, or :func:`auto_batch_size` when it is None."""
    return int(batch_size) if batch_size is not None else auto_batch_size(n_samples)


def pretrain_key(settings: dict, inputs: np.ndarray) -> str:
    """The reuse key of a pretrained autoencoder: its settings and a hash of the exact (preprocessed,
    subsampled) training data, so nothing stale is ever reused."""
    digest = hashlib.sha256(json.dumps({**settings, "format": PRETRAIN_KEY_FORMAT}, sort_keys=True).encode())
    data = np.ascontiguousarray(inputs, dtype=np.float32)
    digest.update(f"{data.shape}".encode())
    digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()[:32]


def features_key(backbone, inputs: np.ndarray) -> str:
    """The reuse key of a backbone's features: its preset and resolution and a hash of the exact images."""
    return pretrain_key({"backbone": backbone.preset, "side": backbone.side, "output": backbone.output}, inputs)


class PixelSpace:
    """The images' own values, flattened: nothing to learn."""

    kind = "pixels"
    points = "the pixels"
    encode_phase = None
    network = None

    def text(self) -> str:
        return "pixels"

    def inputs(self, X: np.ndarray) -> np.ndarray:
        return X.reshape(len(X), -1)

    def fit(self, inputs: np.ndarray, *, callback=None, pretrained=None, library=None,
            mixed_precision: bool = False) -> "PixelSpace":
        return self

    def encode(self, inputs: np.ndarray, *, callback=None) -> np.ndarray:
        return inputs

    def progress_plan(self) -> list:
        return []

    def check(self, n_features: Optional[int]) -> None:
        pass


class ImageNetSpace:
    """The pooled features of MobileNetV2 pretrained on ImageNet (:mod:`core.models.imagenet`): photos grouped
    by what they show rather than by their colours. The weights are downloaded once; nothing is trained."""

    kind = "imagenet"
    points = "the ImageNet features"
    encode_phase = "features"  # a network runs over every image: seconds per hundred images on a CPU
    network = None

    def text(self) -> str:
        return "MobileNetV2 (ImageNet) features"

    def inputs(self, X: np.ndarray) -> np.ndarray:
        return X  # the network takes images as images

    def fit(self, inputs: np.ndarray, *, callback=None, pretrained=None, library=None,
            mixed_precision: bool = False) -> "ImageNetSpace":
        return self

    def encode(self, inputs: np.ndarray, *, callback=None) -> np.ndarray:
        from core.models.imagenet import image_features, weights_choice

        return image_features(inputs, weights=weights_choice(), report=PhaseReporter(callback, "features"))

    def progress_plan(self) -> list:
        return [("features", 20.0)]  # about 2 s per 100 images for the network on a CPU

    def check(self, n_features: Optional[int]) -> None:
        pass


class AutoencoderSpace:
    """The embedding of an autoencoder trained on the images first, or started from a pretrained one.

    Parameters
    ----------
    latent_dim, epochs, hidden_units, batch_size, learning_rate, input_dropout, restart_every
        The network and its training (:class:`~core.algorithms.autoencoder.AutoencoderKMeans` says what
        each does); `batch_size` None is :func:`auto_batch_size` of the data fitted.
    architecture : {"auto", "dense", "convolutional"}
        Resolved for `image_shape` by :func:`resolve_architecture` (kept as given while it is unknown).
    augment : {"auto", "on", "off"}
        Whether pretraining moves the images at random first (:func:`resolve_augment`; never for tables).
    filters, kernel_sizes
        The convolutional network's filters and kernels (DCEC keeps its paper's 5-5-3 kernels).
    seed : int
    image_shape : tuple or None
        The samples' shape (without the sample axis), once known.
    network : keras.Model or None
        The trained network (an estimator that was fitted or loaded passes its ``autoencoder_``).

    After `fit`: ``network`` (the autoencoder), ``history`` (one dict per pretraining epoch), ``key`` (its
    key in the library of pretrained autoencoders), ``reused`` (whether it was reused rather than trained),
    ``seconds`` and ``mixed_precision`` (whether it was built to compute in float16).
    """

    kind = "autoencoder"
    points = "the embedding"
    encode_phase = None

    def __init__(self, *, latent_dim: int, epochs: int, hidden_units=DEFAULT_HIDDEN_UNITS, architecture: str = "auto",
                 filters=DEFAULT_FILTERS, kernel_sizes=(3, 3, 3), batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, seed: int = 0, image_shape=None, network=None,
                 augment: str = "off"):
        self.latent_dim, self.epochs = latent_dim, epochs
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.augment = augment
        self.hidden_units, self.filters, self.kernel_sizes = hidden_units, filters, kernel_sizes
        self.architecture = architecture if image_shape is None else resolve_architecture(architecture, image_shape)
        self.batch_size, self.learning_rate = batch_size, learning_rate
        self.input_dropout, self.restart_every, self.seed = input_dropout, restart_every, seed
        self.network = network
        self.mixed_precision = False
        self.history: list = []
        self.key: Optional[str] = None
        self.reused = False
        self.seconds = 0.0

    def text(self) -> str:
        return autoencoder_text(self.architecture)

    def check(self, n_features: Optional[int]) -> None:
        if n_features is not None and self.latent_dim >= n_features:
            raise ParameterError(f"{{latent_dim}} must be smaller than the {n_features} values of each sample "
                                 f"(n_features = {n_features}), or the autoencoder learns nothing; got {self.latent_dim}.",
                                 "latent_dim")

    def progress_plan(self) -> list:
        return [("pretrain", float(self.epochs))]

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """`X` in the shape the network takes: NHWC for the convolutional autoencoder, else flattened."""
        if self.architecture == "convolutional":
            return X if X.ndim == 4 else X.reshape(len(X), -1, 1, 1)
        return X.reshape(len(X), -1)

    def settings(self, n_samples: int) -> dict:
        """Everything that shapes the pretrained network besides the data: its key's settings."""
        convolutional = self.architecture == "convolutional"
        return {"architecture": self.architecture, "latent_dim": int(self.latent_dim),
                "layers": [int(n) for n in (self.filters if convolutional else self.hidden_units)],
                "kernels": [int(k) for k in self.kernel_sizes] if convolutional else [],
                "epochs": int(self.epochs), "batch_size": batch_for(self.batch_size, n_samples),
                "learning_rate": float(self.learning_rate), "input_dropout": float(self.input_dropout),
                "restart_every": int(self.restart_every), "seed": int(self.seed),
                **({"augment": True} if self.augments else {}),  # keys of networks kept before it stay as they were
                **({"mixed_precision": True} if self.mixed_precision else {})}

    @property
    def augments(self) -> bool:
        """Whether pretraining moves the images at random (known once `image_shape` is)."""
        return resolve_augment(self.augment, self.image_shape)

    def build(self, inputs: np.ndarray):
        """A new, untrained network for `inputs`."""
        from core.models.autoencoder import ConvAutoencoder, DenseAutoencoder

        if self.architecture == "convolutional":
            return ConvAutoencoder(inputs.shape[1:], self.latent_dim, self.filters, self.kernel_sizes, seed=self.seed)
        return DenseAutoencoder(inputs.shape[1], self.latent_dim, self.hidden_units, seed=self.seed)

    def fit(self, inputs: np.ndarray, *, callback=None, pretrained=None, library=None,
            mixed_precision: bool = False) -> "AutoencoderSpace":
        """Build the autoencoder and train it on `inputs`, or start from one: the network `library` (a
        :class:`core.runs.autoencoders.AutoencoderLibrary`) holds under this key, else `pretrained` (a Keras
        autoencoder of the same shape). A network trained to its last epoch is added to `library`.
        `mixed_precision` builds it to compute in float16 (:func:`core.models.training.precision`)."""
        from core.models.autoencoder import train_autoencoder
        from core.models.training import precision

        start = time.perf_counter()
        self.mixed_precision = bool(mixed_precision)
        settings = self.settings(len(inputs))
        with precision(self.mixed_precision):
            self.network = self.build(inputs)
        self.key = pretrain_key(settings, inputs)
        self.history = []
        self.reused = self._reuse(library, pretrained, inputs, callback)
        if not self.reused:
            self.history = train_autoencoder(
                self.network, inputs, epochs=self.epochs, batch_size=settings["batch_size"],
                learning_rate=self.learning_rate, seed=self.seed, input_dropout=self.input_dropout,
                restart_every=self.restart_every, callback=callback, phase="pretrain",
                augment_shape=self.image_shape if self.augments else None)
        self.seconds = time.perf_counter() - start
        trained_fully = len(self.history) == self.epochs  # stopped early ("Stop and keep"): not the key's network
        if library is not None and not self.reused and trained_fully:
            library.keep(self.key, self.network, {**settings, "n_samples": len(inputs), "history": self.history,
                                                  "seconds": round(self.seconds, 2)})
        return self

    def _reuse(self, library, pretrained, inputs: np.ndarray, callback) -> bool:
        """Start from the network `library` holds under this key, else from `pretrained`, instead of
        training; returns whether it did."""
        report = PhaseReporter(callback, "pretrain")
        if library is not None:
            entry = library.load_into(self.key, self.network)
            if entry is not None:
                self.history = entry.history
                report(f"Reusing the autoencoder pretrained earlier on these images ({entry.describe()})", 1.0)
                return True
        if pretrained is None:
            return False
        try:
            self.network.set_weights(pretrained.get_weights())
        except (AttributeError, ValueError) as error:
            raise ValueError(f"the pretrained autoencoder does not fit this method's network "
                             f"({self.architecture}, latent size {self.latent_dim}, "
                             f"input {'x'.join(map(str, inputs.shape[1:]))}): {error}") from None
        report("Starting from the pretrained autoencoder given", 1.0)
        return True

    def encode(self, inputs: np.ndarray, *, callback=None) -> np.ndarray:
        """The network's embedding of `inputs`."""
        from core.models.autoencoder import encode

        return encode(self.network, inputs)

    def decode(self, Z: np.ndarray) -> np.ndarray:
        """The decoder's output for embeddings `Z` (the network's input shape)."""
        from core.models.autoencoder import decode

        return decode(self.network, np.asarray(Z, dtype=np.float32))


@dataclass(frozen=True)
class Backbone:
    """A modern pretrained vision backbone offered as a space (:mod:`core.models.backbones` computes its
    features): its KerasHub preset, the side images are resized to, which output is the feature, its
    download and the seconds it takes per 1,000 images on 2 CPU cores (bench/backbones.py)."""

    kind: str
    preset: str
    title: str
    side: int
    output: str
    download_mb: int
    seconds_per_1000: float

    def text(self) -> str:
        return f"{self.title} features"

    def cost_text(self, n_images: int) -> str:
        """What a run in this backbone's features costs, said before it starts."""
        seconds = self.seconds_per_1000 * n_images / 1000
        return (f"{self.title} runs over every image: about {self.seconds_per_1000:.0f} s per 1,000 images on 2 CPU "
                f"cores, so about {_duration(seconds)} for these {n_images:,} (once: the features are kept for "
                f"the next run on the same images). Its weights are downloaded the first time (about "
                f"{self.download_mb} MB).")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


# Seconds per 1,000 images: `.venv/bin/python bench/backbones.py`, 2026-12-03, 2 CPU cores (docs/benchmarks.md).
BACKBONES = {
    "dinov2": Backbone("dinov2", "dinov2_small", "DINOv2 ViT-S/14", 112, "class token", 90, 36.0),
    "clip": Backbone("clip", "clip_vit_base_patch16", "CLIP ViT-B/16", 224, "image embedding", 600, 338.0),
    "siglip": Backbone("siglip", "siglip_base_patch16_224", "SigLIP ViT-B/16", 224, "image embedding", 800, 385.0),
}


class BackboneSpace:
    """The features of a modern pretrained vision backbone (DINOv2, CLIP, SigLIP; :data:`BACKBONES`): photos
    grouped by what they show. The weights are downloaded once by KerasHub; nothing is trained."""

    encode_phase = "features"  # a network runs over every image
    network = None

    def __init__(self, kind: str):
        self.kind = kind
        self.backbone = BACKBONES[kind]
        self.points = f"the {self.backbone.title} features"
        self.features = None  # the store's backbone features, once fitted with a library
        self.reused = False   # whether the last encoding was read back rather than computed

    def text(self) -> str:
        return self.backbone.text()

    def inputs(self, X: np.ndarray) -> np.ndarray:
        return X  # the network takes images as images

    def fit(self, inputs: np.ndarray, *, callback=None, pretrained=None, library=None,
            mixed_precision: bool = False) -> "BackboneSpace":
        """Nothing is trained; a `library` (the store's) lends its backbone features for `encode` to read
        and keep."""
        self.features = getattr(library, "features", None)
        return self

    def encode(self, inputs: np.ndarray, *, callback=None) -> np.ndarray:
        """The backbone's features of `inputs`: read back when the library kept them for these very images,
        else computed (batched, with progress and Cancel) and kept."""
        from core.models.backbones import backbone_features

        report = PhaseReporter(callback, "features")
        key = features_key(self.backbone, inputs) if self.features is not None else None
        if key is not None:
            found = self.features.find(key, len(inputs))
            if found is not None:
                self.reused = True
                report(f"Read the {self.backbone.title} features kept from an earlier run", 1.0)
                return found
        features = backbone_features(inputs, self.backbone, report=report)
        if key is not None:
            self.features.keep(key, features, {"backbone": self.backbone.title, "preset": self.backbone.preset,
                                               "side": self.backbone.side})
        return features

    def progress_plan(self) -> list:
        return [("features", 40.0)]  # a vision transformer over every image: the run's longest phase

    def check(self, n_features: Optional[int]) -> None:
        pass


SPACE_KINDS = ("pixels", "autoencoder", "imagenet", *BACKBONES)


def autoencoder_text(architecture: str) -> str:
    """What the embedding of an autoencoder of `architecture` is called."""
    return "convolutional autoencoder embedding" if architecture == "convolutional" else "autoencoder embedding"


def space_of_kind(kind: str, *, latent_dim: int = 10, epochs: int = 75, seed: int = 0, image_shape=None,
                  network=None):
    """The space a classical method's `space` parameter names (one of SPACE_KINDS): an
    autoencoder gets `latent_dim`, `epochs` and `seed`, and the deep methods' defaults for the rest."""
    if kind == "pixels":
        return PixelSpace()
    if kind == "imagenet":
        return ImageNetSpace()
    if kind in BACKBONES:
        return BackboneSpace(kind)
    if kind == "autoencoder":
        return AutoencoderSpace(latent_dim=latent_dim, epochs=epochs, seed=seed, image_shape=image_shape,
                                network=network)
    raise ValueError(f"unknown space {kind!r}: choose one of {', '.join(SPACE_KINDS)}.")
