"""The rules that place a sample in a cluster from an estimator's public fitted state, in NumPy.

`predict` and `predict_proba` use them, so a model loaded from its folder (in a process that never trained,
such as the web server) places new samples exactly as the fitted one does, without TensorFlow: the
nearest centre (k-means, DEC's argmax), DEC's Student-t kernel, a Gaussian mixture's posterior (scikit-learn's
own, rebuilt from its arrays) and VaDE's diagonal mixture prior.
"""
from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture

MIXTURE_KEYS = ("weights", "means", "covariances", "precisions_cholesky")


def nearest_row(Z: np.ndarray, rows: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Index of the row of `rows` nearest (Euclidean) to each row of `Z`, in batches of `batch_size`."""
    Z, rows = np.asarray(Z, dtype=np.float64), np.asarray(rows, dtype=np.float64)
    out = np.empty(len(Z), dtype=np.int64)
    for start in range(0, len(Z), batch_size):
        part = Z[start:start + batch_size]
        squared = (part ** 2).sum(axis=1)[:, None] - 2 * part @ rows.T + (rows ** 2).sum(axis=1)[None]
        out[start:start + batch_size] = squared.argmin(axis=1)
    return out


def student_t(Z: np.ndarray, centers: np.ndarray, *, scale: float = 1.0, alpha: float = 1.0) -> np.ndarray:
    """DEC's soft assignment q_ij (eq. 1) of each row of `Z` to each centre, in the kernel's scaled space."""
    squared = (((np.asarray(Z, dtype=np.float64)[:, None, :] - np.asarray(centers, dtype=np.float64)[None]) * scale)
               ** 2).sum(axis=2)
    q = (1.0 + squared / alpha) ** (-(alpha + 1.0) / 2.0)
    return q / q.sum(axis=1, keepdims=True)


def diagonal_mixture_posterior(Z: np.ndarray, weights, means, variances) -> np.ndarray:
    """p(c | z) under a mixture of diagonal Gaussians (VaDE's prior), rows summing to 1."""
    Z = np.asarray(Z, dtype=np.float64)
    log_var = np.log(np.asarray(variances, dtype=np.float64))
    squared = (Z[:, None, :] - np.asarray(means, dtype=np.float64)[None]) ** 2 / np.exp(log_var)[None]
    joint = np.log(np.asarray(weights, dtype=np.float64))[None] - 0.5 * (np.log(2 * np.pi) + log_var[None]
                                                                          + squared).sum(axis=2)
    joint -= joint.max(axis=1, keepdims=True)
    probabilities = np.exp(joint)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def mixture_arrays(mixture: GaussianMixture, prefix: str = "gmm") -> dict:
    """A fitted GaussianMixture as plain arrays (saved without pickle), under ``<prefix>_<name>``."""
    arrays = {f"{prefix}_{key}": np.asarray(getattr(mixture, f"{key}_")) for key in MIXTURE_KEYS}
    arrays[f"{prefix}_covariance_type"] = np.asarray(mixture.covariance_type)
    return arrays


def mixture_from_arrays(arrays: dict, prefix: str = "gmm") -> GaussianMixture:
    """The GaussianMixture saved by :func:`mixture_arrays` (any covariance type), ready to predict."""
    weights, means = arrays[f"{prefix}_weights"], arrays[f"{prefix}_means"]
    covariances = arrays[f"{prefix}_covariances"]
    kind = arrays.get(f"{prefix}_covariance_type")
    if kind is None:  # runs saved before the type was: read it off the covariances' shape
        n_features = means.shape[1]
        kind = {3: "full", 1: "spherical"}.get(covariances.ndim) or (
            "tied" if covariances.shape == (n_features, n_features) and len(weights) != n_features else "diag")
    mixture = GaussianMixture(len(weights), covariance_type=str(kind))
    mixture.weights_, mixture.means_, mixture.covariances_ = weights, means, covariances
    mixture.precisions_cholesky_ = arrays[f"{prefix}_precisions_cholesky"]
    mixture.converged_, mixture.n_iter_, mixture.lower_bound_ = True, 0, 0.0
    mixture.n_features_in_ = means.shape[1]
    return mixture
