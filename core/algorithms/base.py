"""The interface every clustering algorithm shares, in the spirit of scikit-learn's estimators.

Parameters go to the constructor (stored under their own names, nothing derived). Each estimator declares
them once, in `parameters` (:class:`core.params.Param`: the constraint `fit` checks first, and the label,
range and help of those the form shows), beside its registry `name`, `title`, `description`, whether it is
`deep` and whether it `uses_n_clusters`. `fit` sets fitted attributes with a trailing underscore:

``labels_``      cluster of each sample (-1 for noise where an algorithm has it)
``embedding_``   the space the clustering was made in (pixels or a learned embedding), shape (N, d)
``history_``     list of per-epoch dicts ({"phase", "epoch", "loss", "elapsed"}); empty for classical methods
``timings_``     seconds per phase, e.g. {"pretrain": 12.3, "cluster": 0.4}

and `view_data()` returns what the algorithm's own view in the app needs (plain arrays and numbers:
soft-assignment confidences, a dendrogram's linkage, a SOM's prototypes...), so a result can be
shown, and stored, without the fitted model.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Optional

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from core.params import ParameterError
from core.progress import PhaseReporter, ProgressCallback


class ClusteringAlgorithm(ClusterMixin, BaseEstimator):
    """Base class: validation, seeding, timing and progress plumbing around `_fit`.

    Subclasses declare their `parameters` and what the app says of them, and implement ``_fit(self, X)``,
    which sets the fitted attributes. `X` reaches `_fit` validated, as float32 of shape (n_samples, ...) (images
    stay NHWC; flatten where the method needs vectors).
    """

    name: str = ""             # the registry's key ("n2d"): runs, the command line and links use it
    title: str = ""            # what a person reads ("N2D (autoencoder + UMAP + GMM)")
    description: str = ""      # what it does and when to choose it, for the form
    deep: bool = False
    uses_n_clusters: bool = True
    parameters: tuple = ()     # every constructor parameter, as core.params.Param

    @classmethod
    def parameter(cls, name: str):
        """The declaration of parameter `name` (a :class:`core.params.Param`), or None."""
        return next((p for p in cls.parameters if p.name == name), None)

    def fit(self, X, y=None, *, callback: Optional[ProgressCallback] = None, pretrained=None):
        """Cluster `X`, shape (n_samples, ...). `y` is ignored (present for API consistency).

        `callback` receives :class:`core.progress.ProgressEvent`s; raising
        :class:`core.progress.TrainingCancelled` from it stops the fit.

        `pretrained` gives the methods that pretrain an autoencoder a network to start from instead:
        a Keras autoencoder of the same shape (its ``encoder`` and ``decoder``; its weights are copied),
        or a :class:`core.runs.autoencoders.AutoencoderLibrary`, looked up by the pretraining's key and
        added to when the network had to be trained. Methods without an autoencoder ignore it. It is a
        fit argument, not a parameter: it is bound to the data, and parameters stay plain values.
        """
        X = self._validate_data(X)
        self.check_parameters(len(X), int(np.prod(X.shape[1:])))
        self.timings_ = {}
        self.history_ = []
        self._image_shape = X.shape[1:]
        self._n_samples = len(X)
        self._callback, self._pretrained = callback, pretrained
        try:
            self._fit(X)
        finally:
            self._callback = self._pretrained = None
        return self

    def fit_predict(self, X, y=None, *, callback: Optional[ProgressCallback] = None, pretrained=None) -> np.ndarray:
        return self.fit(X, callback=callback, pretrained=pretrained).labels_

    def progress_plan(self) -> list:
        """The phases `fit` reports, in order, with their expected share of its time (relative
        weights, about seconds per epoch on a CPU), so that a run's progress bar moves evenly."""
        plan = [("pretrain", float(getattr(self, "epochs", 0)))] if getattr(self, "_uses_autoencoder", False) else []
        return plan + [("cluster", 5.0)]

    # -- helpers for subclasses -------------------------------------------------------------------
    def _reporter(self, phase: str) -> PhaseReporter:
        return PhaseReporter(self._callback, phase)

    @contextmanager
    def _timed(self, phase: str):
        start = time.perf_counter()
        yield
        self.timings_[phase] = self.timings_.get(phase, 0.0) + time.perf_counter() - start

    def view_data(self) -> dict:
        """Arrays and numbers for this algorithm's view (empty by default).

        Estimators with ``probabilities_`` report each sample's confidence (its largest membership
        probability) under ``"confidence"``.
        """
        self._check_fitted()
        probabilities = getattr(self, "probabilities_", None)
        if probabilities is None:
            return {}
        return {"confidence": np.asarray(probabilities).max(axis=1).astype(np.float32)}

    def _as_images(self, vectors) -> np.ndarray:
        """Rows of `vectors` (pixels) reshaped to the training images' shape, for display."""
        vectors = np.asarray(vectors, dtype=np.float32)
        shape = self._image_shape if len(self._image_shape) == 3 else (*self._image_shape, 1, 1)[:3]
        return vectors.reshape(len(vectors), *shape)

    def _check_fitted(self):
        check_is_fitted(self, "labels_")

    # -- validation -------------------------------------------------------------------------------
    @staticmethod
    def _validate_data(X) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype == object or not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"X must be numeric, got dtype {X.dtype}.")
        if X.ndim < 2:
            raise ValueError(f"X must have shape (n_samples, n_features) or (n_samples, H, W, C); got {X.shape}.")
        if len(X) < 2:
            raise ValueError(f"need at least 2 samples to cluster, got {len(X)}.")
        X = X.astype(np.float32, copy=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values; clean or drop those samples first.")
        return X

    def check_parameters(self, n_samples: Optional[int] = None, n_features: Optional[int] = None) -> None:
        """Raise ParameterError, naming the parameter, when a parameter is not allowed,
        or does not fit data of `n_samples` samples of `n_features` values (each check runs when its
        count is given). `fit` calls this first; the app calls it before it records a run."""
        for param in self.parameters:
            value = getattr(self, param.name)
            if not param.constraint.accepts(value):
                raise ParameterError(f"{{{param.name}}} must be {param.constraint}; got {value!r}.", param.name)
        self._validate_parameters(n_samples, n_features)

    def _validate_new_data(self, X) -> np.ndarray:
        """`X` for predict / transform: validated like training data and of the training samples' shape
        (an image of another size is refused, not reshaped)."""
        self._check_fitted()
        X = np.asarray(X)
        if X.ndim < 2 or X.dtype == object or not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"new samples must be numeric arrays of shape (n_samples, {', '.join(map(str, self._image_shape))}); "
                             f"got {X.shape}.")
        if tuple(X.shape[1:]) != tuple(self._image_shape):
            raise ValueError(f"new samples must have the shape the model was trained on, "
                             f"{'x'.join(map(str, self._image_shape))}; got {'x'.join(map(str, X.shape[1:]))}.")
        if len(X) == 0:
            return X.astype(np.float32)
        X = X.astype(np.float32, copy=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("new samples contain NaN or infinite values; clean or drop those samples first.")
        return X

    def _validate_parameters(self, n_samples: Optional[int], n_features: Optional[int]) -> None:
        """Checks across parameters and against the data's size (subclasses add theirs)."""
        n_clusters = getattr(self, "n_clusters", None)
        if n_clusters is not None and n_samples is not None and n_clusters > n_samples:
            raise ValueError(
                f"cannot make {n_clusters} clusters from {n_samples} samples: choose at most {n_samples}."
            )
        latent_dim = getattr(self, "latent_dim", None)
        if (latent_dim is not None and n_features is not None and getattr(self, "_uses_autoencoder", False)
                and latent_dim >= n_features):
            raise ParameterError(f"{{latent_dim}} must be smaller than the {n_features} values of each "
                                 f"sample, or the autoencoder learns nothing; got {latent_dim}.", "latent_dim")
