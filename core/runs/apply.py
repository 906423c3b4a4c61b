"""Applying a finished run to new images: its saved model places them in its clusters and on its projection.

The run's estimator is loaded from its folder (``load_estimator(folder).predict(X)``: networks with safe
mode on, arrays without pickle) and the new images, preprocessed with the statistics of the run's own
images, go through the same space and the same rule as its own did; methods that keep no rule for new
points (agglomerative, DBSCAN, HDBSCAN, spectral, and N2D and UMAP + GMM, whose UMAP is not saved) say so.
This module only checks the images and says what happened.

A new image's place on the run's 2-D projection is the mean of its nearest neighbours' places in the
run's embedding: UMAP cannot map new points without its fitted model, and this keeps them beside the
images they resemble.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from sklearn.neighbors import NearestNeighbors

from core.algorithms import ALGORITHMS, DamagedModel, get_algorithm, load_estimator
from core.algorithms.base import PARAMS_FILE
from core.data import preprocess
from core.data.images import shape_text

N_NEIGHBOURS = 10


class CannotApply(ValueError):
    """This run cannot assign new images; the message says why and what would."""


@dataclass
class Placement:
    """Where new images land in a run.

    Attributes
    ----------
    labels : ndarray (n,) of int: each new image's cluster
    confidence : ndarray (n,) of float, or None where the method gives no probability
    points : {projection method: ndarray (n, 2)}: places on the run's 2-D projections
    neighbours : ndarray (n, k): positions (in the run's data) of each new image's nearest neighbours
    rule : a sentence saying how the clusters were assigned
    """

    labels: np.ndarray
    confidence: Optional[np.ndarray]
    points: dict
    neighbours: np.ndarray
    rule: str


def can_apply(algorithm: str, params: dict) -> Optional[str]:
    """None when runs of `algorithm` can assign new images, else the reason they cannot."""
    estimator = get_algorithm(algorithm).estimator
    return None if estimator.can_predict else estimator.cannot_predict


def apply_run(store, run_id: int, images: np.ndarray, *, result=None) -> Placement:
    """Assign `images` (n, height, width, channels) in [0, 1] to run `run_id`'s clusters.

    Raises
    ------
    CannotApply
        The method has no rule for new images, the run has no saved model, or the images' shape is not
        the run's.
    """
    record = store.get(run_id)
    reason = can_apply(record.algorithm, record.config.params)
    if reason:
        placing = ", ".join(spec.title for spec in ALGORITHMS.values() if spec.estimator.can_predict)
        raise CannotApply(f"Run {run_id} cannot place new images: {reason}. Runs of these methods can: {placing}.")
    result = result if result is not None else store.load_result(run_id)
    images = _check_images(images, result.dataset.image_shape, run_id)
    folder = Path(store.run_dir(run_id)) / "model"
    if not (folder / PARAMS_FILE).is_file():
        raise CannotApply(f"Run {run_id} has no saved model (it was made before models were saved); train it "
                          f"again to apply it to new images.")
    X = preprocess(images, result.config.preprocessing, reference=result.dataset.images)
    try:
        estimator = load_estimator(folder, image_shape=result.dataset.image_shape)
        embedding, labels, confidence = estimator.place(X)
    except DamagedModel as error:
        raise CannotApply(f"Run {run_id} cannot place new images: {error} Train the run again to apply it to "
                          "new images.") from None
    except Exception as error:  # a file that reads but does not fit (edited by hand)
        raise CannotApply(f"The saved model of run {run_id} is damaged and cannot be read "
                          f"({type(error).__name__}); train the run again to apply it to new images.") from None
    neighbours = _nearest(np.asarray(result.embedding, dtype=np.float32), embedding)
    points = {method: np.asarray(projection)[neighbours].mean(axis=1) for method, projection in result.projections.items()}
    return Placement(labels=labels, confidence=confidence, points=points, neighbours=neighbours,
                     rule=estimator.predict_rule)


def images_for_run(data, shape: tuple) -> np.ndarray:
    """Uploaded images (an ImportedData or a Dataset) as the run's images: [0, 1], gray made colour or colour
    made gray to match the run's channels. Sizes are not changed here (a zip is read at the run's size)."""
    if getattr(data, "kind", "images") != "images" or getattr(data, "is_table", False):
        raise CannotApply("New data must be images for a run on images.")
    images = data.images01() if hasattr(data, "images01") else np.asarray(data.images, dtype=np.float32)
    channels = shape[-1]
    if images.shape[-1] == 1 and channels == 3:
        images = np.repeat(images, 3, axis=-1)
    elif images.shape[-1] == 3 and channels == 1:
        images = (images @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., np.newaxis]
    return images


def _check_images(images, shape: tuple, run_id: int) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or len(images) == 0:
        raise CannotApply(f"New images must be an array of images; got shape {images.shape}.")
    if tuple(images.shape[1:]) != tuple(shape):
        raise CannotApply(f"The new images are {shape_text(images.shape[1:])} but run {run_id} was trained on "
                          f"{shape_text(shape)}; upload images of that size (a zip is resized to it) or pick a "
                          f"dataset of that shape.")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise CannotApply("New images must be finite values in [0, 1].")
    return images


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int = N_NEIGHBOURS) -> np.ndarray:
    """Positions of the `k` rows of `reference` nearest to each query (Euclidean)."""
    k = min(k, len(reference))
    model = NearestNeighbors(n_neighbors=k).fit(np.asarray(reference, dtype=np.float32).reshape(len(reference), -1))
    return model.kneighbors(np.asarray(queries, dtype=np.float32).reshape(len(queries), -1), return_distance=False)
