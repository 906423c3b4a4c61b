"""Autoencoder-based clustering: pretrain a dense autoencoder, embed, cluster the embedding."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from sklearn.utils.metaestimators import available_if

from core.algorithms.base import ClusteringAlgorithm
from core.params import Interval, OneOf, Param, PositiveInts


KMEANS_BACKENDS = ("auto", "scikit-learn", "tensorflow")
ARCHITECTURES = ("auto", "dense", "convolutional")
CONV_MIN_SIDE = 16  # "auto" takes the convolutional network for images at least this many pixels a side


def resolve_architecture(architecture: str, image_shape) -> str:
    """The network an `architecture` setting means for samples of `image_shape` (without the sample axis).

    "auto" is convolutional for images (H, W, C) of at least 16 pixels a side, where convolutions see
    strokes and shapes that a dense network must learn at every position, and dense otherwise (8x8
    digits, tables, vectors).
    """
    if architecture != "auto":
        return architecture
    shape = tuple(image_shape)
    return "convolutional" if len(shape) == 3 and min(shape[0], shape[1]) >= CONV_MIN_SIDE else "dense"


def run_kmeans(Z: np.ndarray, n_clusters: int, *, backend: str = "auto", n_init: int = 10,
               random_state: int = 0):
    """k-means on `Z` with scikit-learn or TensorFlow; returns (centres, labels).

    "auto" picks TensorFlow when a GPU is visible (its batched distances run there) and
    scikit-learn otherwise (faster on a CPU).
    """
    if backend == "auto":
        from core.models.kmeans import gpu_available

        backend = "tensorflow" if gpu_available() else "scikit-learn"
    if backend == "tensorflow":
        from core.models.kmeans import kmeans

        result = kmeans(Z, n_clusters, n_init=n_init, random_state=random_state)
        return result.cluster_centers, result.labels
    fitted = KMeans(n_clusters, n_init=n_init, random_state=random_state).fit(Z)
    return fitted.cluster_centers_, fitted.labels_.astype(np.int64)


PRETRAIN_KEY_FORMAT = 1  # raise when the training code changes what the same settings produce


def pretrain_key(settings: dict, inputs: np.ndarray) -> str:
    """The reuse key of a pretrained autoencoder: its settings and a hash of the exact (preprocessed,
    subsampled) training data, so nothing stale is ever reused."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps({**settings, "format": PRETRAIN_KEY_FORMAT}, sort_keys=True).encode())
    data = np.ascontiguousarray(inputs, dtype=np.float32)
    digest.update(f"{data.shape}".encode())
    digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()[:32]


MIXTURE_REG_COVAR = 1e-4  # floor on the covariances: UMAP with min_dist 0 can collapse a cluster to a point


def fit_gaussian_mixture(Z: np.ndarray, n_components: int, *, covariance_type: str = "full", n_init: int = 5,
                         random_state: int = 0) -> GaussianMixture:
    """A Gaussian mixture of `Z` (in float64) whose covariances cannot become singular.

    scikit-learn's default floor (1e-6) failed on a UMAP manifold of 28x28 shapes whose points of one
    cluster all but coincide ("ill-defined empirical covariance")."""
    return GaussianMixture(n_components, covariance_type=covariance_type, n_init=n_init, reg_covar=MIXTURE_REG_COVAR,
                           random_state=random_state).fit(np.asarray(Z, dtype=np.float64))


def nearest_center(Z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    squared = ((Z[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    return squared.argmin(axis=1).astype(np.int64)


def auto_batch_size(n_samples: int) -> int:
    """The default batch: 256, halved (down to 32) until an epoch has at least 25 steps.

    Small datasets otherwise get very few updates per epoch (7 for digits at 256); on digits,
    batches of 64 gave N2D an NMI of 0.91-0.92 against 0.84-0.86 at 256, at the same epoch count.
    """
    batch = 256
    while batch > 32 and n_samples / batch < 25:
        batch //= 2
    return batch


# The parameters every autoencoder method shares, declared once (core.params.Param).
AUTOENCODER_PARAMETERS = (
    Param("n_clusters", Interval(int, 1, None)),
    Param("latent_dim", Interval(int, 1, None), "Latent size", low=2, high=64, step=1,
          help="Size of the learned embedding. 10 is the usual choice for 10 classes."),
    Param("hidden_units", PositiveInts()),
    Param("epochs", Interval(int, 1, None), "Epochs", high=300, step=1,
          help="Autoencoder training passes over the data. More epochs: lower reconstruction loss, longer wait."),
    Param("batch_size", Interval(int, 1, None, allow_none=True), "Batch size",
          options=(None, 32, 64, 128, 256, 512, 1024), advanced=True,
          help="Images per training step. auto: 256, or fewer on small data so that an epoch has at "
               "least 25 steps (64 for digits)."),
    Param("learning_rate", Interval(float, 0, 1, low_open=True), "Learning rate",
          options=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2), advanced=True, help="Adam's step size. Lower it if the loss diverges."),
    Param("input_dropout", Interval(float, 0, 0.9), "Input dropout (denoising)", high=0.5, step=0.05, advanced=True,
          help="Fraction of pixels hidden from the encoder while training; 0 trains a plain autoencoder."),
    Param("restart_every", Interval(int, 0, None), "Restart Adam every (epochs)", high=100, step=5, advanced=True,
          help="Warm restarts of the optimiser; they gave better embeddings for clustering. 0: never."),
    Param("random_state", Interval(int, 0, None)),
)
ARCHITECTURE = Param(
    "architecture", OneOf(*ARCHITECTURES), "Autoencoder",
    help="The network that learns the embedding. auto: convolutional for images of 16x16 pixels and up (it "
         "sees strokes and shapes wherever they are), dense for smaller images such as 8x8 digits, and for tables.")
KMEANS_BACKEND = Param(
    "kmeans_backend", OneOf(*KMEANS_BACKENDS), "k-means by", advanced=True,
    help="TensorFlow's batched k-means runs on a GPU when there is one; auto uses it only then "
         "(scikit-learn is faster on a CPU). Both give the same clustering up to ties.")


def _has_predict(estimator) -> bool:
    return estimator.can_predict


def _has_membership(estimator) -> bool:
    return hasattr(estimator, "_membership")


class _AutoencoderClustering(ClusteringAlgorithm):
    """The shared "pretrain, embed, initial clustering" step of every autoencoder method.

    Subclasses implement `_cluster_embedding(Z)` returning labels, and `_predict_embedding(Z)` where
    the method can assign new samples. `_build_autoencoder` and `_inputs` choose the network (dense
    here, convolutional in DCEC) and the shape it takes.
    """

    architecture = "dense"  # the methods that offer the choice take it as a parameter
    filters = (32, 64, 128)  # the convolutional network's filters (DCEC takes them as a parameter)
    kernel_sizes = (3, 3, 3)  # and its kernels (DCEC keeps its paper's 5-5-3)
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

    @property
    def architecture_(self) -> str:
        """The network fitted: "dense" or "convolutional" (`architecture` resolved for the training data)."""
        return resolve_architecture(self.architecture, self.image_shape_)

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        """`X` in the shape the network takes: NHWC for the convolutional autoencoder, else flattened."""
        if self._uses_autoencoder and self.architecture_ == "convolutional":
            return X if X.ndim == 4 else X.reshape(len(X), -1, 1, 1)
        return X.reshape(len(X), -1)

    def _build_autoencoder(self, inputs: np.ndarray):
        from core.models.autoencoder import ConvAutoencoder, DenseAutoencoder

        if self.architecture_ == "convolutional":
            return ConvAutoencoder(inputs.shape[1:], self.latent_dim, self.filters, self.kernel_sizes,
                                   seed=self.random_state)
        return DenseAutoencoder(inputs.shape[1], self.latent_dim, self.hidden_units, seed=self.random_state)

    def _pretrain(self, inputs: np.ndarray) -> None:
        """Build the autoencoder and train it, or start from the one `fit` was given (sets `autoencoder_`,
        `history_`, `pretrain_key_` and `pretrained_reused_`)."""
        from core.models.autoencoder import train_autoencoder

        self.autoencoder_ = self._build_autoencoder(inputs)
        self.pretrain_key_ = pretrain_key(self._pretrain_settings(), inputs)
        library = getattr(self, "_library", None)
        with self._timed("pretrain"):
            self.pretrained_reused_ = self._reuse(library, getattr(self, "_pretrained", None), inputs)
            if not self.pretrained_reused_:
                self.history_ = train_autoencoder(
                    self.autoencoder_, inputs, epochs=self.epochs, batch_size=self._batch_size,
                    learning_rate=self.learning_rate, seed=self.random_state, input_dropout=self.input_dropout,
                    restart_every=self.restart_every, callback=self._callback, phase="pretrain",
                )
        trained_fully = len(self.history_) == self.epochs  # stopped early ("Stop and keep"): not the key's network
        if library is not None and not self.pretrained_reused_ and trained_fully:
            library.keep(self.pretrain_key_, self.autoencoder_,
                         {**self._pretrain_settings(), "n_samples": len(inputs), "history": self.history_,
                          "seconds": round(self.timings_["pretrain"], 2)})

    def _pretrain_settings(self) -> dict:
        """Everything that shapes the pretrained network besides the data: its key's settings."""
        architecture = self.architecture_
        return {"architecture": architecture, "latent_dim": int(self.latent_dim),
                "layers": [int(n) for n in (self.filters if architecture == "convolutional" else self.hidden_units)],
                "kernels": [int(k) for k in self.kernel_sizes] if architecture == "convolutional" else [],
                "epochs": int(self.epochs), "batch_size": self._batch_size, "learning_rate": float(self.learning_rate),
                "input_dropout": float(self.input_dropout), "restart_every": int(self.restart_every),
                "seed": int(self.random_state)}

    def _reuse(self, library, pretrained, inputs: np.ndarray) -> bool:
        """Start from the network `library` holds under this key, else from `pretrained` (a Keras
        autoencoder of the same shape), instead of training; returns whether it did."""
        report = self._reporter("pretrain")
        if library is not None:
            entry = library.load_into(self.pretrain_key_, self.autoencoder_)
            if entry is not None:
                self.history_ = entry.history
                report(f"Reusing the autoencoder pretrained earlier on these images ({entry.describe()})", 1.0)
                return True
        if pretrained is None:
            return False
        try:
            self.autoencoder_.set_weights(pretrained.get_weights())
        except (AttributeError, ValueError) as error:
            raise ValueError(f"the pretrained autoencoder does not fit this method's network "
                             f"({self._pretrain_settings()['architecture']}, latent size {self.latent_dim}, "
                             f"input {'x'.join(map(str, inputs.shape[1:]))}): {error}") from None
        self.history_ = []
        report("Starting from the pretrained autoencoder given", 1.0)
        return True

    @property
    def _batch_size(self) -> int:
        """`batch_size`, or the automatic choice for the data being fitted when it is None."""
        return int(self.batch_size) if self.batch_size is not None else auto_batch_size(self._n_samples)

    @property
    def _uses_autoencoder(self) -> bool:
        """Whether the method clusters a learned embedding (False: the inputs themselves, for the
        methods that offer a pixel space)."""
        return True

    def _space_name(self, architecture=None) -> str:
        if not self._uses_autoencoder:
            return "pixels"
        if "convolutional" in (architecture, self.architecture):
            return "convolutional autoencoder embedding"
        return "autoencoder embedding"

    def _encode(self, inputs: np.ndarray) -> np.ndarray:
        """The space the method clusters: the autoencoder's embedding of `inputs`, or `inputs`."""
        from core.models.autoencoder import encode

        return encode(self.autoencoder_, inputs) if self._uses_autoencoder else inputs

    def _fit(self, X: np.ndarray) -> None:
        inputs = self._inputs(X)
        if self._uses_autoencoder:
            self._pretrain(inputs)
        message = (f"Clustering {'the embedding' if self._uses_autoencoder else 'the pixels'} "
                   f"with {self._cluster_title}")
        report = self._reporter("cluster")
        report(message, 0.0)
        with self._timed("cluster"):
            self.embedding_ = self._encode(inputs)
            self.labels_ = np.asarray(self._cluster_embedding(self.embedding_)).astype(np.int64)
        report(message, 1.0)

    def transform(self, X) -> np.ndarray:
        """The space `X` is clustered in: its learned embedding (or its flattened pixels)."""
        return self._encode(self._inputs(self._validate_new_data(X)))

    def _decoded(self, Z) -> np.ndarray:
        from core.models.autoencoder import decode

        return self._as_images(decode(self.autoencoder_, np.asarray(Z, dtype=np.float32)).reshape(len(Z), -1))

    def view_data(self) -> dict:
        """Confidence (where the method is soft) and each cluster's centre decoded into an image."""
        data = super().view_data()
        centers = getattr(self, "cluster_centers_", None)
        if centers is None and hasattr(self, "gmm_"):
            centers = self.gmm_.means_
        if centers is not None and getattr(self, "autoencoder_", None) is not None \
                and np.shape(centers)[1] == self.autoencoder_.latent_dim:
            data["centers"] = self._decoded(centers)
        return data

    @available_if(_has_predict)
    def predict(self, X) -> np.ndarray:
        """The cluster of each sample of `X` (new samples included)."""
        return np.asarray(self._predict_embedding(self.transform(X))).astype(np.int64)

    @available_if(_has_membership)
    def predict_proba(self, X) -> np.ndarray:
        """Each sample's membership of every cluster, (n_samples, n_clusters), rows summing to 1."""
        return np.asarray(self._membership(self.transform(X)), dtype=np.float64)


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
    kmeans_backend : {"auto", "scikit-learn", "tensorflow"}, default="auto"
        Who runs k-means: TensorFlow (:mod:`core.models.kmeans`, batched, on a GPU when there is
        one) or scikit-learn; "auto" takes TensorFlow only when a GPU is visible.
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
        self.cluster_centers_, labels = run_kmeans(Z, self.n_clusters, backend=self.kmeans_backend,
                                                   random_state=self.random_state)
        return labels

    def _predict_embedding(self, Z):
        return nearest_center(Z, self.cluster_centers_)


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
