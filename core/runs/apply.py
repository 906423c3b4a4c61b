"""Applying a finished run to new images: its saved model places them in its clusters and on its projection.

The run's model embeds the new images the way it embedded its own (the saved encoder, with safe mode on,
or the pixels with the run's preprocessing, using the statistics of the run's own images), then its
clustering rule assigns them from the saved fitted state: the nearest centre (k-means, DEC, IDEC, DCEC),
the mixture's most likely component (GMM, VaDE), or the map node's cluster (SOM). Methods that keep no
rule for new points (agglomerative, DBSCAN, HDBSCAN, spectral, and N2D, whose UMAP is not saved) say so.

A new image's place on the run's 2-D projection is the mean of its nearest neighbours' places in the
run's embedding: UMAP cannot map new points without its fitted model, and this keeps them beside the
images they resemble.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

N_NEIGHBOURS = 10
CANNOT_PLACE = {
    "agglomerative": "agglomerative clustering builds one tree of the images it was given, with no rule for new ones",
    "dbscan": "DBSCAN keeps no model of its clusters, only which images were dense enough",
    "hdbscan": "HDBSCAN keeps no model of its clusters for new images here",
    "spectral": "spectral clustering cuts a graph of the images it was given, with no rule for new ones",
    "n2d": "N2D's UMAP manifold is not saved with the run, and a new UMAP would move every point",
    "umap_gmm": "its UMAP manifold is not saved with the run, and a new UMAP would move every point",
}


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
    return CANNOT_PLACE.get(algorithm)


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
        raise CannotApply(f"Run {run_id} cannot place new images: {reason}. Runs of k-means, the "
                          f"autoencoder methods, DEC, IDEC, DCEC, GMM, VaDE and the SOM can.")
    result = result if result is not None else store.load_result(run_id)
    images = _check_images(images, result.dataset.image_shape, run_id)
    folder = Path(store.run_dir(run_id)) / "model"
    if not (folder / "params.json").is_file():
        raise CannotApply(f"Run {run_id} has no saved model (it was made before models were saved); train it "
                          f"again to apply it to new images.")
    try:
        estimator = json.loads((folder / "params.json").read_text())
        with np.load(folder / "state.npz", allow_pickle=False) as saved:
            state = {key: saved[key] for key in saved.files}
        embedding = _embed(images, result, folder, estimator["params"])
    except CannotApply:
        raise
    except Exception as error:  # a truncated or edited file: Keras, zipfile and numpy each raise their own
        raise CannotApply(f"The saved model of run {run_id} is damaged and cannot be read "
                          f"({type(error).__name__}); train the run again to apply it to new images.") from None
    labels, confidence, rule = _assign(record.algorithm, embedding, state, estimator["params"], run_id)
    neighbours = _nearest(np.asarray(result.embedding, dtype=np.float32), embedding)
    points = {method: np.asarray(projection)[neighbours].mean(axis=1) for method, projection in result.projections.items()}
    return Placement(labels=labels, confidence=confidence, points=points, neighbours=neighbours, rule=rule)


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
        raise CannotApply(f"The new images are {_shape_text(images.shape[1:])} but run {run_id} was trained on "
                          f"{_shape_text(shape)}; upload images of that size (a zip is resized to it) or pick a "
                          f"dataset of that shape.")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise CannotApply("New images must be finite values in [0, 1].")
    return images


def _shape_text(shape) -> str:
    h, w, c = (tuple(shape) + (1,))[:3]
    return f"{h}x{w} {'colour' if c == 3 else 'grayscale'}"


def _embed(images: np.ndarray, result, folder: Path, params: dict) -> np.ndarray:
    """The new images in the space the run clustered in."""
    from core.data import preprocess

    X = preprocess(images, result.config.preprocessing, reference=result.dataset.images)
    if params.get("space") == "imagenet":  # the same pretrained network, as the run's own images went through it
        from core.models.imagenet import image_features, weights_choice

        return image_features(X, weights=weights_choice())
    encoder_path = folder / "encoder.keras"
    uses_encoder = params.get("space", "autoencoder") != "pixels" and result.config.algorithm != "kmeans"
    if not uses_encoder:
        return X.reshape(len(X), -1)
    if not encoder_path.is_file():
        raise CannotApply("The run's encoder was not saved; train it again to apply it to new images.")
    import keras

    # safe_mode stays on: a .keras file cannot run code it carries (lambdas); .h5 files are never loaded.
    encoder = keras.models.load_model(encoder_path, compile=False, safe_mode=True)
    inputs = X if len(encoder.input_shape) == 4 else X.reshape(len(X), -1)
    return np.asarray(encoder.predict(inputs, verbose=0, batch_size=1024), dtype=np.float32).reshape(len(X), -1)


def _assign(algorithm: str, Z: np.ndarray, state: dict, params: dict, run_id: int) -> tuple:
    """(labels, confidence or None, rule sentence) from the run's saved fitted state."""
    if "node_labels_" in state and "prototypes_" in state:
        nodes = _nearest(state["prototypes_"], Z, k=1)[:, 0]
        return state["node_labels_"][nodes].astype(np.int64), None, "each image joins the cluster of its nearest map node"
    if "means_" in state and "variances_" in state and "weights_" in state:  # VaDE's mixture prior
        log_var = np.log(state["variances_"].astype(np.float64))
        squared = (Z[:, None, :] - state["means_"][None]) ** 2 / np.exp(log_var)[None]
        joint = np.log(state["weights_"])[None] - 0.5 * (np.log(2 * np.pi) + log_var[None] + squared).sum(axis=2)
        return _soft(joint) + ("each image joins the mixture component most likely to have made it",)
    if "gmm_means" in state:
        probabilities = _saved_mixture(Z.shape[1], state).predict_proba(Z.astype(np.float64))
        return (probabilities.argmax(axis=1).astype(np.int64), probabilities.max(axis=1),
                "each image joins the Gaussian most likely to have made it")
    if "cluster_centers_" in state:
        centres = state["cluster_centers_"].astype(np.float32)
        labels = _nearest(centres, Z, k=1)[:, 0].astype(np.int64)
        confidence = None
        if "kernel_scale_" in state:  # DEC's Student-t soft assignment
            alpha = float(params.get("alpha", 1.0))
            scale = float(state["kernel_scale_"])
            d2 = (((Z[:, None, :] - centres[None]) * scale) ** 2).sum(axis=2)
            q = (1.0 + d2 / alpha) ** (-(alpha + 1) / 2)
            confidence = (q / q.sum(axis=1, keepdims=True)).max(axis=1)
        return labels, confidence, "each image joins its nearest cluster centre"
    raise CannotApply(f"Run {run_id} was saved without the state its method needs for new images (made by an "
                      f"older version); train it again to apply it.")


def _soft(joint: np.ndarray) -> tuple:
    joint = joint - joint.max(axis=1, keepdims=True)
    probabilities = np.exp(joint)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities.argmax(axis=1).astype(np.int64), probabilities.max(axis=1)


def _saved_mixture(n_features: int, state: dict):
    """The run's Gaussian mixture, rebuilt from its saved parameters (any covariance type)."""
    from sklearn.mixture import GaussianMixture

    weights, covariances = state["gmm_weights"], state["gmm_covariances"]
    kind = {3: "full", 1: "spherical"}.get(covariances.ndim) or (
        "tied" if covariances.shape == (n_features, n_features) and len(weights) != n_features else "diag")
    gmm = GaussianMixture(len(weights), covariance_type=str(state.get("gmm_covariance_type", kind)))
    gmm.weights_, gmm.means_, gmm.covariances_ = weights, state["gmm_means"], covariances
    gmm.precisions_cholesky_ = state["gmm_precisions_cholesky"]
    gmm.converged_, gmm.n_iter_, gmm.lower_bound_, gmm.n_features_in_ = True, 0, 0.0, n_features
    return gmm


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int = N_NEIGHBOURS) -> np.ndarray:
    """Positions of the `k` rows of `reference` nearest to each query (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    model = NearestNeighbors(n_neighbors=k).fit(np.asarray(reference, dtype=np.float32).reshape(len(reference), -1))
    return model.kneighbors(np.asarray(queries, dtype=np.float32).reshape(len(queries), -1), return_distance=False)
