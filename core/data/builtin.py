"""The datasets built into the app, by name: how to load each and what to tell the user first."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from core.data import loaders
from core.data.dataset import Dataset
from core.params import ParamSpec


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one dataset and what to tell the user about it before loading."""

    name: str
    title: str
    description: str
    loader: Callable[..., Dataset]
    n_samples: int
    needs_download: bool = False
    options: Sequence[ParamSpec] = ()


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("digits", "Digits (8x8, bundled)", "scikit-learn's handwritten digits; bundled, works offline.",
                    loaders.load_digits, 1797),
        DatasetSpec("synthetic", "Synthetic shapes", "Geometric patterns generated in code with known clusters.",
                    loaders.make_synthetic, 1000, options=(
                        ParamSpec("n_samples", "Images to generate", "int", 1000, 100, 70000, 100),
                        ParamSpec("n_clusters", "Patterns (true clusters)", "int", 5, 2, 10, 1),
                        ParamSpec("noise", "Pixel noise", "float", 0.15, 0.0, 0.5, 0.05),
                        ParamSpec("with_labels", "True labels", "choice", True, options=(True, False),
                                  help="Hide them to see the app as with unlabelled data (silhouette only)."),
                        # For the command line and code (tests make small fast images): the form leaves them out.
                        ParamSpec("image_size", "Image side (pixels)", "int", 16, 8, 64, 4, advanced=True,
                                  help="Height and width of the generated images."),
                        ParamSpec("seed", "Generator seed", "int", 0, 0, 2**32 - 1, 1, advanced=True,
                                  help="Which shifts and noise the images get; the same seed, the same images."),
                    )),
        DatasetSpec("mnist", "MNIST (28x28)", "Handwritten digits; downloaded once through keras.datasets.",
                    loaders.load_mnist, 70000, needs_download=True),
        DatasetSpec("fashion_mnist", "Fashion-MNIST (28x28)", "Clothing images; downloaded once through keras.datasets.",
                    loaders.load_fashion_mnist, 70000, needs_download=True),
    ]
}
DEFAULT_DATASET = "digits"
