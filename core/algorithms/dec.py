"""DEC (Xie, Girshick and Farhadi, 2016) and IDEC (Guo et al., 2017).

Both pretrain the dense autoencoder, initialise cluster centres with k-means on the embedding, then
train the encoder and the centres to sharpen Student-t soft assignments Q towards the target P
(KL(P || Q)), refreshing P every `update_interval` batches and stopping once fewer than `tol` of the
labels change between refreshes. IDEC keeps the decoder and minimises reconstruction + gamma * KL,
which preserves the local structure of the data that DEC's clustering loss alone can distort.
"""
from __future__ import annotations

import numpy as np

from core.algorithms.autoencoder import (ARCHITECTURE, AUTOENCODER_PARAMETERS, BATCH_SIZE, EPOCHS, INPUT_DROPOUT,
                                         LATENT_DIM, LEARNING_RATE, N_CLUSTERS, RANDOM_STATE,
                                         RESTART_EVERY, _AutoencoderClustering)
from core.algorithms.kmeans import KMEANS_BACKEND, run_kmeans
from core.algorithms.assignment import student_t
from core.params import Interval, Param, PositiveInts


# The clustering phase's parameters, shared by DEC, IDEC and DCEC.
CLUSTERING_PHASE_PARAMETERS = (
    Param("cluster_epochs", Interval(int, 0, None), "Clustering epochs (at most)", high=200, step=1,
          help="Passes of the clustering phase after pretraining; it stops earlier once fewer "
               "than the tolerance of labels change between target refreshes."),
    Param("update_interval", Interval(int, 1, None, allow_none=True)),
    Param("tol", Interval(float, 0, 1), "Stop when labels changed below", options=(0.0001, 0.001, 0.005, 0.01, 0.05),
          advanced=True, help="Fraction of samples changing cluster between two refreshes of the target."),
    Param("cluster_learning_rate", Interval(float, 0, 1, low_open=True), "Clustering learning rate",
          options=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3), advanced=True, help="Adam's step size in the clustering phase."),
    Param("alpha", Interval(float, 0, None, low_open=True)),
    KMEANS_BACKEND,
    Param("cluster_batch_size", Interval(int, 1, None)),
)
GAMMA = Param("gamma", Interval(float, 0, None, low_open=True), "Clustering loss weight (gamma)",
              options=(0.01, 0.05, 0.1, 0.5, 1.0),
              help="Weight of the clustering loss against reconstruction (0.1 in the IDEC and DCEC papers).")


class DEC(_AutoencoderClustering):
    """Deep Embedded Clustering.

    Parameters
    ----------
    n_clusters, latent_dim, hidden_units, epochs, batch_size, learning_rate, input_dropout,
    restart_every, random_state
        As :class:`~core.algorithms.autoencoder.AutoencoderKMeans` (``epochs`` are pretraining epochs).
    cluster_epochs : int, default=30
        Most passes over the data in the clustering phase (it usually stops earlier, see `tol`).
    update_interval : int or None, default=None
        Batches between refreshes of the target distribution; None means once per pass over the
        data (a default that adapts to the data's size, chosen without labels).
    cluster_batch_size : int, default=256
        Batch of the clustering phase (256 as in DEC's paper; on digits it kept more of the gain
        than the smaller automatic pretraining batch: NMI 0.847 against 0.817).
    tol : float, default=0.001
        Stop when fewer than this fraction of labels change between two refreshes.
    cluster_learning_rate : float, default=0.001
        Adam's step size in the clustering phase. (DEC's reference code uses SGD 0.01 with momentum;
        on digits that lowered NMI from 0.767 to 0.689, Adam 0.001 kept IDEC above its start.)
    alpha : float, default=1.0
        Degrees of freedom of the Student-t kernel.
    kmeans_backend, architecture
        As :class:`~core.algorithms.autoencoder.AutoencoderKMeans`.

    Attributes
    ----------
    labels_, embedding_, history_, timings_, autoencoder_
        As the autoencoder methods; `embedding_` is the encoder's output after the clustering phase.
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
    probabilities_ : ndarray of shape (n_samples, n_clusters)
        Soft assignments Q; ``probabilities_.max(axis=1)`` is each sample's confidence.
    initial_labels_ : ndarray of shape (n_samples,)
        The k-means labels the clustering phase started from.
    label_changes_ : list of float
        Fraction of labels that changed at each refresh of the target distribution.
    """

    name, title = "dec", "DEC (deep embedded clustering)"
    description = ("Pretrains the autoencoder, starts from k-means, then trains the encoder and the centres "
                   "together so that confident assignments get more confident (Xie et al. 2016). Good when "
                   "the autoencoder's embedding already separates the classes fairly well; shows each image's "
                   "confidence and how labels moved.")
    parameters = AUTOENCODER_PARAMETERS + (ARCHITECTURE,) + CLUSTERING_PHASE_PARAMETERS
    _title = "DEC"

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, cluster_epochs: int = 30,
                 update_interval=None, cluster_batch_size: int = 256, tol: float = 0.001,
                 cluster_learning_rate: float = 0.001,
                 alpha: float = 1.0, kmeans_backend: str = "auto", architecture: str = "auto",
                 random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, random_state=random_state)
        self.architecture = architecture
        self.cluster_epochs = cluster_epochs
        self.update_interval = update_interval
        self.cluster_batch_size = cluster_batch_size
        self.tol = tol
        self.cluster_learning_rate = cluster_learning_rate
        self.alpha = alpha
        self.kmeans_backend = kmeans_backend

    def _clustering_loss_terms(self):
        """(gamma, uses_decoder): DEC trains on the clustering loss alone."""
        return 1.0, False

    def _fit(self, X: np.ndarray) -> None:
        from core.models.clustering import train_clustering_phase

        space, inputs = self._fit_space(X)
        report = self._reporter("init")
        report("Initialising cluster centres with k-means on the embedding", 0.0)
        with self._timed("init"):
            embedding = space.encode(inputs)
            centers, self.initial_labels_, _ = run_kmeans(embedding, self.n_clusters,
                                                       backend=self.kmeans_backend, n_init=20,
                                                       random_state=self.random_state)
        gamma, uses_decoder = self._clustering_loss_terms()
        with self._timed("cluster"):
            phase = train_clustering_phase(
                self.autoencoder_, inputs, embedding, centers, self.initial_labels_, gamma=gamma,
                uses_decoder=uses_decoder, alpha=float(self.alpha), learning_rate=self.cluster_learning_rate,
                batch_size=self.cluster_batch_size, update_interval=self.update_interval, epochs=self.cluster_epochs,
                tol=self.tol, seed=self.random_state, callback=self._callback, title=self._title, watch=self._watch)
            self.history_ += phase.history
            self.label_changes_ = phase.label_changes
            self.probabilities_ = phase.probabilities
            self.labels_ = phase.probabilities.argmax(axis=1).astype(np.int64)
            self.cluster_centers_ = phase.centers
            self.kernel_scale_ = phase.scale  # saved: new images are assigned with the same kernel
            self.embedding_ = phase.embedding
        self._reporter("cluster")(f"{self._title}: clusters refined", 1.0)

    def progress_plan(self) -> list:
        # The clustering phase costs about 0.4 of a pretraining epoch per epoch (measured on digits).
        return [("pretrain", float(self.epochs)), ("init", 1.0), ("cluster", 0.4 * self.cluster_epochs)]

    def view_data(self) -> dict:
        """Confidence per sample, the k-means labels the clustering phase started from, and the
        fraction of labels changed at each target refresh."""
        return {**super().view_data(), "initial_labels": self.initial_labels_,
                "label_changes": np.asarray(self.label_changes_, dtype=np.float32)}

    can_predict = True
    predict_rule = "each image joins its nearest cluster centre"

    def _membership(self, Z):
        """The Student-t soft assignment the clustering phase trained, from the public centres and kernel."""
        return student_t(Z, self.cluster_centers_, scale=self.kernel_scale_, alpha=float(self.alpha))

    def _predict_embedding(self, Z):
        return self._membership(Z).argmax(axis=1)


class IDEC(DEC):
    """Improved DEC: DEC that keeps the decoder, minimising reconstruction + `gamma` x clustering loss.

    Takes the parameters of :class:`DEC` plus

    gamma : float, default=0.1
        Weight of the clustering loss against the reconstruction loss (0.1 in the IDEC paper).
    """

    name, title = "idec", "IDEC (improved DEC)"
    description = ("DEC that keeps training the decoder too, so the embedding cannot drift away from the "
                   "images (Guo et al. 2017). Usually steadier than DEC; the same confidence view.")
    parameters = DEC.parameters + (GAMMA,)
    _title = "IDEC"

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, cluster_epochs: int = 30,
                 update_interval=None, cluster_batch_size: int = 256, tol: float = 0.001,
                 cluster_learning_rate: float = 0.001,
                 alpha: float = 1.0, gamma: float = 0.1, kmeans_backend: str = "auto", architecture: str = "auto",
                 random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, cluster_epochs=cluster_epochs,
                         update_interval=update_interval, cluster_batch_size=cluster_batch_size, tol=tol,
                         cluster_learning_rate=cluster_learning_rate, alpha=alpha, kmeans_backend=kmeans_backend,
                         architecture=architecture, random_state=random_state)
        self.gamma = gamma

    def _clustering_loss_terms(self):
        return self.gamma, True


class DCEC(IDEC):
    """Deep Convolutional Embedded Clustering: IDEC's clustering phase on a convolutional autoencoder.

    The autoencoder (:class:`core.models.autoencoder.ConvAutoencoder`) takes images of any size and
    channel count: 8x8 digits as well as 28x28 grey or 32x32 colour images. It sees pixels as
    images rather than as a flat vector, so it is robust to small shifts that dense networks are not.

    Parameters
    ----------
    filters : tuple of int, default=(32, 64, 128)
        Filters of the stride-2 convolutions (as many are used as the image size allows).
    Others
        As :class:`IDEC` (no ``hidden_units``); DCEC's paper uses ``gamma=0.1``.
    """

    name, title = "dcec", "DCEC (convolutional)"
    description = ("IDEC on a convolutional autoencoder (Guo et al. 2017): sees images as images, so it copes "
                   "with shifted strokes and colour images of any size. Slower per epoch than the dense methods.")
    parameters = (N_CLUSTERS, LATENT_DIM, EPOCHS, BATCH_SIZE, LEARNING_RATE,
                  Param("input_dropout", INPUT_DROPOUT.constraint),  # not offered on the form: not in DCEC's paper
                  RESTART_EVERY, RANDOM_STATE) + CLUSTERING_PHASE_PARAMETERS + (GAMMA, Param("filters", PositiveInts()))
    _title = "DCEC"
    kernel_sizes = (5, 5, 3)  # the paper's

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, filters=(32, 64, 128),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, cluster_epochs: int = 30,
                 update_interval=None, cluster_batch_size: int = 256, tol: float = 0.001,
                 cluster_learning_rate: float = 0.001,
                 alpha: float = 1.0, gamma: float = 0.1, kmeans_backend: str = "auto", random_state: int = 0):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.filters = filters
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.input_dropout = input_dropout
        self.restart_every = restart_every
        self.cluster_epochs = cluster_epochs
        self.update_interval = update_interval
        self.cluster_batch_size = cluster_batch_size
        self.tol = tol
        self.cluster_learning_rate = cluster_learning_rate
        self.alpha = alpha
        self.gamma = gamma
        self.kmeans_backend = kmeans_backend
        self.random_state = random_state

    def _network(self) -> dict:
        """Always the convolutional autoencoder, with this estimator's filters and the paper's kernels."""
        return {"architecture": "convolutional", "filters": self.filters, "kernel_sizes": self.kernel_sizes}
