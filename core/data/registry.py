"""The dataset registry: every dataset the app offers by name, built in (core.data.builtin) or saved by
the user (core.data.library)."""
from __future__ import annotations

from typing import Optional

from core.data.builtin import DATASETS, DEFAULT_DATASET, DatasetSpec  # noqa: F401  (the registry's names)
from core.data.dataset import Dataset
from core.data.library import default_library


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
    return name in default_library()


def dataset_label(name: str) -> str:
    """What the user sees for a dataset: a built-in one's title, or a saved one's own name."""
    spec = DATASETS.get(name)
    return spec.title if spec is not None else f"{name} (yours)"


def dataset_title(name: str) -> Optional[str]:
    spec = DATASETS.get(name)
    return spec.title if spec else None
