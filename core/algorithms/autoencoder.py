"""Autoencoder-based clustering: pretrain a dense autoencoder, embed, cluster the embedding."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from core.algorithms.base import ClusteringAlgorithm, Interval, OneOf, PositiveInts


class _AutoencoderClustering(ClusteringAlgorithm):
    """The shared "pretrain, embed, initial clustering" step of every autoencoder method.

    Subclasses implement `_cluster_embedding(Z)` returning labels, and may keep a model for `predict`.
    """

    _parameter_constraints = {
        "n_clusters": Interval(int, 1, None),
        "latent_dim": Interval(int, 1, None),
        "hidden_units": PositiveInts(),
        "epochs": Interval(int, 0, None),
        "batch_size": Interval(int, 1, None),
        "learning_rate": Interval(float, 0, 1, low_open=True),
        "input_dropout": Interval(float, 0, 0.9),
        "restart_every": Interval(int, 0, None),
        "random_state": Interval(int, 0, None),
    }

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size: int = 256, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, random_state: int = 0):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.input_dropout = input_dropout
        self.restart_every = restart_every
        self.random_state = random_state

    def _pretrain(self, flat: np.ndarray) -> None:
        """Build and train the autoencoder (sets `autoencoder_` and `history_`)."""
        from core.models.autoencoder import DenseAutoencoder, train_autoencoder

        self.autoencoder_ = DenseAutoencoder(flat.shape[1], self.latent_dim, self.hidden_units,
                                             seed=self.random_state)
        with self._timed("pretrain"):
            self.history_ = train_autoencoder(
                self.autoencoder_, flat, epochs=self.epochs, batch_size=self.batch_size,
                learning_rate=self.learning_rate, seed=self.random_state, input_dropout=self.input_dropout,
                restart_every=self.restart_every, callback=self._callback, phase="pretrain",
            )

    def _fit(self, X: np.ndarray) -> None:
        from core.models.autoencoder import encode

        flat = X.reshape(len(X), -1)
        self._pretrain(flat)
        report = self._reporter("cluster")
        report(f"Clustering the embedding with {self._cluster_title}", 0.0)
        with self._timed("cluster"):
            self.embedding_ = encode(self.autoencoder_, flat)
            self.labels_ = self._cluster_embedding(self.embedding_).astype(np.int64)
        report(f"Clustering the embedding with {self._cluster_title}", 1.0)

    def transform(self, X) -> np.ndarray:
        """The learned embedding of `X`."""
        from core.models.autoencoder import encode

        self._check_fitted()
        X = self._validate_data(X)
        return encode(self.autoencoder_, X.reshape(len(X), -1))

    def predict(self, X) -> np.ndarray:
        return self._predict_embedding(self.transform(X)).astype(np.int64)


class AutoencoderKMeans(_AutoencoderClustering):
    """Dense autoencoder, then k-means on its embedding.

    Parameters
    ----------
    n_clusters : int, default=10
    latent_dim : int, default=10
        Size of the embedding.
    hidden_units : tuple of int, default=(500, 500, 2000)
        Encoder widths (d-500-500-2000-latent as in DEC and N2D); the decoder mirrors them.
    epochs : int, default=75
        Autoencoder training epochs.
    batch_size : int, default=256
    learning_rate : float, default=1e-3
        Adam's learning rate.
    input_dropout : float, default=0.0
        Fraction of input pixels zeroed while training (denoising autoencoder); 0 disables it.
    restart_every : int, default=25
        Restart Adam (fresh moment estimates) every this many epochs; 0 never restarts. Warm
        restarts gave steadier, better embeddings for k-means on digits.
    random_state : int, default=0
        Seeds weights, shuffling and k-means: equal seeds give equal results.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    embedding_ : ndarray of shape (n_samples, latent_dim)
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
    autoencoder_ : core.models.autoencoder.DenseAutoencoder
    history_ : list of dict
        Per-epoch reconstruction loss.
    timings_ : dict
        Seconds spent pretraining and clustering.

    Examples
    --------
    >>> from core.data import load_dataset
    >>> data = load_dataset("digits")
    >>> model = AutoencoderKMeans(n_clusters=10, epochs=5).fit(data.images)
    >>> model.embedding_.shape
    (1797, 10)
    """

    _cluster_title = "k-means"

    def _cluster_embedding(self, Z):
        self._kmeans = KMeans(self.n_clusters, n_init=10, random_state=self.random_state).fit(Z)
        self.cluster_centers_ = self._kmeans.cluster_centers_
        return self._kmeans.labels_

    def _predict_embedding(self, Z):
        return self._kmeans.predict(Z)


class AutoencoderGMM(_AutoencoderClustering):
    """Dense autoencoder, then a Gaussian mixture on its embedding (soft, elliptical clusters).

    Takes the parameters of :class:`AutoencoderKMeans` plus

    covariance_type : {"full", "diag", "tied", "spherical"}, default="full"
    n_init : int, default=5
        GMM restarts; several remove most run-to-run swings for under a second of work.

    Attributes
    ----------
    As :class:`AutoencoderKMeans`, plus ``gmm_`` (the fitted ``GaussianMixture``) and
    ``probabilities_`` (n_samples, n_clusters), the posterior of each component.
    """

    _cluster_title = "a Gaussian mixture"
    _parameter_constraints = {
        **_AutoencoderClustering._parameter_constraints,
        "covariance_type": OneOf("full", "diag", "tied", "spherical"),
        "n_init": Interval(int, 1, None),
    }

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size: int = 256, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, covariance_type: str = "full",
                 n_init: int = 5, random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, random_state=random_state)
        self.covariance_type = covariance_type
        self.n_init = n_init

    def _cluster_embedding(self, Z):
        self.gmm_ = GaussianMixture(self.n_clusters, covariance_type=self.covariance_type, n_init=self.n_init,
                                    random_state=self.random_state).fit(Z)
        self.probabilities_ = self.gmm_.predict_proba(Z)
        return self.probabilities_.argmax(axis=1)

    def _predict_embedding(self, Z):
        return self.gmm_.predict(Z)
