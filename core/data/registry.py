"""The dataset registry: every dataset the app offers, by name."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

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
                        ParamSpec("n_samples", "Images to generate", "int", 1000, 100, 10000, 100),
                        ParamSpec("n_clusters", "Patterns (true clusters)", "int", 5, 2, 10, 1),
                        ParamSpec("noise", "Pixel noise", "float", 0.15, 0.0, 0.5, 0.05),
                        ParamSpec("with_labels", "True labels", "choice", True, options=(True, False),
                                  help="Hide them to see the app as with unlabelled data (silhouette only)."),
                    )),
        DatasetSpec("mnist", "MNIST (28x28)", "Handwritten digits; downloaded once through keras.datasets.",
                    loaders.load_mnist, 70000, needs_download=True),
        DatasetSpec("fashion_mnist", "Fashion-MNIST (28x28)", "Clothing images; downloaded once through keras.datasets.",
                    loaders.load_fashion_mnist, 70000, needs_download=True),
    ]
}
DEFAULT_DATASET = "digits"


def load_dataset(name: str, **options) -> Dataset:
    """Load dataset `name`: a built-in one from the registry (`options` go to its loader, e.g. ``n_samples``
    for synthetic), or one the user saved in the dataset library of the run store.

    Raises
    ------
    KeyError
        For a name that is neither built in nor saved.
    DatasetUnavailable
        When the data cannot be obtained (e.g. a failed download); the message is meant for the user.
    """
    if name in DATASETS:
        return DATASETS[name].loader(**options)
    from core.data.library import default_library

    library = default_library()
    if name in library:
        if options:
            raise ValueError(f"the saved dataset {name!r} takes no options (got {', '.join(options)}).")
        return library.load(name)
    saved = library.names()
    raise KeyError(f"unknown dataset {name!r}; built in: {', '.join(DATASETS)}"
                   + (f"; saved: {', '.join(saved)}." if saved else "; no saved datasets yet."))


def dataset_exists(name: str) -> bool:
    """Built in, or saved in the default run store's dataset library."""
    if name in DATASETS:
        return True
    from core.data.library import default_library

    return name in default_library()


def dataset_label(name: str) -> str:
    """What the user sees for a dataset: a built-in one's title, or a saved one's own name."""
    spec = DATASETS.get(name)
    return spec.title if spec is not None else f"{name} (yours)"


def dataset_title(name: str) -> Optional[str]:
    spec = DATASETS.get(name)
    return spec.title if spec else None
