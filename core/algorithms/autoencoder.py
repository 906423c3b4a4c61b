"""Autoencoder-based clustering: pretrain an autoencoder (:class:`core.algorithms.spaces.AutoencoderSpace`),
embed, cluster the embedding."""
from __future__ import annotations

from typing import Optional

import numpy as np
from sklearn.mixture import GaussianMixture

from core.algorithms.assignment import nearest_row
from core.algorithms.base import ClusteringAlgorithm
from core.algorithms.kmeans import KMEANS_BACKEND, run_kmeans
from core.algorithms.spaces import ARCHITECTURES, AutoencoderSpace, batch_for
from core.params import Interval, OneOf, Param, PositiveInts


MIXTURE_REG_COVAR = 1e-4  # floor on the covariances: UMAP with min_dist 0 can collapse a cluster to a point


def fit_gaussian_mixture(Z: np.ndarray, n_components: int, *, covariance_type: str = "full", n_init: int = 5,
                         random_state: int = 0) -> GaussianMixture:
    """A Gaussian mixture of `Z` (in float64) whose covariances cannot become singular.

    scikit-learn's default floor (1e-6) failed on a UMAP manifold of 28x28 shapes whose points of one
    cluster all but coincide ("ill-defined empirical covariance")."""
    return GaussianMixture(n_components, covariance_type=covariance_type, n_init=n_init, reg_covar=MIXTURE_REG_COVAR,
                           random_state=random_state).fit(np.asarray(Z, dtype=np.float64))


# The parameters of the autoencoder methods, each declared once (core.params.Param).
N_CLUSTERS = Param("n_clusters", Interval(int, 1, None))
LATENT_DIM = Param("latent_dim", Interval(int, 1, None), "Latent size", low=2, high=64, step=1,
                   help="Size of the learned embedding. 10 is the usual choice for 10 classes.")
HIDDEN_UNITS = Param("hidden_units", PositiveInts())
EPOCHS = Param("epochs", Interval(int, 1, None), "Epochs", high=300, step=1,
               help="Autoencoder training passes over the data. More epochs: lower reconstruction loss, longer wait.")
BATCH_SIZE = Param("batch_size", Interval(int, 1, None, allow_none=True), "Batch size",
                   options=(None, 32, 64, 128, 256, 512, 1024), advanced=True,
                   help="Images per training step. auto: 256, or fewer on small data so that an epoch has at "
                        "least 25 steps (64 for digits).")
LEARNING_RATE = Param("learning_rate", Interval(float, 0, 1, low_open=True), "Learning rate",
                      options=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2), advanced=True,
                      help="Adam's step size. Lower it if the loss diverges.")
INPUT_DROPOUT = Param("input_dropout", Interval(float, 0, 0.9), "Input dropout (denoising)", high=0.5, step=0.05,
                      advanced=True,
                      help="Fraction of pixels hidden from the encoder while training; 0 trains a plain autoencoder.")
RESTART_EVERY = Param("restart_every", Interval(int, 0, None), "Restart Adam every (epochs)", high=100, step=5,
                      advanced=True, help="Warm restarts of the optimiser; they gave better embeddings for clustering. "
                                          "0: never.")
RANDOM_STATE = Param("random_state", Interval(int, 0, None))
AUTOENCODER_PARAMETERS = (N_CLUSTERS, LATENT_DIM, HIDDEN_UNITS, EPOCHS, BATCH_SIZE, LEARNING_RATE, INPUT_DROPOUT,
                          RESTART_EVERY, RANDOM_STATE)
ARCHITECTURE = Param(
    "architecture", OneOf(*ARCHITECTURES), "Autoencoder",
    help="The network that learns the embedding. auto: convolutional for images of 16x16 pixels and up (it "
         "sees strokes and shapes wherever they are), dense for smaller images such as 8x8 digits, and for tables.")
class _AutoencoderClustering(ClusteringAlgorithm):
    """The deep methods' shared part: the autoencoder's parameters, and the space they make of them.

    Subclasses implement `_cluster_embedding(Z)` returning labels (or a whole `_fit`), and
    `_predict_embedding(Z)` where the method can assign new samples.
    """

    deep = True
    parameters = AUTOENCODER_PARAMETERS

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
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

    def _network(self) -> dict:
        """The network's shape, as :class:`AutoencoderSpace` takes it (DCEC's is always convolutional)."""
        return {"architecture": self.architecture, "hidden_units": self.hidden_units}

    def _make_space(self, *, image_shape=None, network=None, n_samples=None) -> AutoencoderSpace:
        return AutoencoderSpace(latent_dim=self.latent_dim, epochs=self.epochs, batch_size=self.batch_size,
                                learning_rate=self.learning_rate, input_dropout=self.input_dropout,
                                restart_every=self.restart_every, seed=self.random_state, image_shape=image_shape,
                                network=network, **self._network())

    @property
    def architecture_(self) -> Optional[str]:
        """The network fitted: "dense" or "convolutional" (`architecture` resolved for the training data);
        None where the method was fitted without one (a map trained on the pixels)."""
        return getattr(self._make_space(image_shape=self.image_shape_), "architecture", None)

    @property
    def _batch_size(self) -> int:
        """`batch_size`, or the automatic choice for the data being fitted when it is None."""
        return batch_for(self.batch_size, self._n_samples)


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
    batch_size : int or None, default=None
        Images per training step; None is 256, or fewer on small data so that an epoch has at
        least 25 steps (64 for digits), see :func:`auto_batch_size`.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    input_dropout : float, default=0.0
        Fraction of input pixels zeroed while training (denoising autoencoder); 0 disables it.
    restart_every : int, default=25
        Restart Adam (fresh moment estimates) every this many epochs; 0 never restarts. Warm
        restarts gave steadier, better embeddings for k-means on digits.
    kmeans_backend : {"auto", "scikit-learn", "mini-batch", "tensorflow"}, default="auto"
        Who runs k-means (:mod:`core.algorithms.kmeans`): TensorFlow (:mod:`core.models.kmeans`, batched,
        on a GPU when there is one), scikit-learn, or scikit-learn's mini-batch k-means; "auto" takes
        TensorFlow when a GPU is visible, else mini-batches above 40,000 samples.
    architecture : {"auto", "dense", "convolutional"}, default="auto"
        The autoencoder: dense (d-`hidden_units`-latent) or convolutional (three stride-2
        convolutions of 32, 64 and 128 filters, as in DCEC); "auto" is convolutional for images of
        at least 16x16 pixels and dense otherwise, see :func:`resolve_architecture`.
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

    name, title = "ae_kmeans", "Autoencoder + k-means"
    description = ("Learns a compact embedding with an autoencoder, then runs k-means on it. The simplest deep "
                   "method: compare it with k-means on pixels to see what the embedding alone adds, and decode each "
                   "cluster's centre on the Model page.")
    parameters = AUTOENCODER_PARAMETERS + (ARCHITECTURE, KMEANS_BACKEND)
    _cluster_title = "k-means"
    can_predict = True
    predict_rule = "each image joins its nearest cluster centre"

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, kmeans_backend: str = "auto",
                 architecture: str = "auto", random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, random_state=random_state)
        self.kmeans_backend = kmeans_backend
        self.architecture = architecture

    def _cluster_embedding(self, Z):
        self.cluster_centers_, labels, _ = run_kmeans(Z, self.n_clusters, backend=self.kmeans_backend,
                                                      random_state=self.random_state)
        return labels

    def _predict_embedding(self, Z):
        return nearest_row(Z, self.cluster_centers_)


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

    name, title = "ae_gmm", "Autoencoder + GMM"
    description = ("The same embedding, clustered by a Gaussian mixture: allows elongated clusters of "
                   "different sizes and gives each image a membership probability.")
    parameters = AUTOENCODER_PARAMETERS + (
        ARCHITECTURE,
        Param("covariance_type", OneOf("full", "diag", "tied", "spherical"), "Covariance", advanced=True,
              help="Shape of each Gaussian: full is most flexible, spherical is k-means-like."),
        Param("n_init", Interval(int, 1, None)),
    )
    _cluster_title = "a Gaussian mixture"

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, covariance_type: str = "full",
                 n_init: int = 5, architecture: str = "auto", random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, random_state=random_state)
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.architecture = architecture

    def _cluster_embedding(self, Z):
        self.gmm_ = fit_gaussian_mixture(Z, self.n_clusters, covariance_type=self.covariance_type, n_init=self.n_init,
                                         random_state=self.random_state)
        self.probabilities_ = self.gmm_.predict_proba(Z)
        return self.probabilities_.argmax(axis=1)

    can_predict = True
    predict_rule = "each image joins the Gaussian most likely to have made it"

    def _membership(self, Z):
        return self.gmm_.predict_proba(Z)

    def _predict_embedding(self, Z):
        return self.gmm_.predict(Z)
