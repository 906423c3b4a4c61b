"""N2D (McConville et al. 2019): autoencoder -> UMAP to a few dimensions -> Gaussian mixture."""
from __future__ import annotations

import numpy as np

from core.algorithms.autoencoder import AUTOENCODER_PARAMETERS, _AutoencoderClustering, fit_gaussian_mixture
from core.algorithms.manifold import UMAP_PARAMETERS, ManifoldMixtureView, manifold_dim, umap_manifold
from core.algorithms.spaces import ARCHITECTURES, AUGMENT_CHOICES, PixelSpace
from core.params import Interval, OneOf, Param

# Below this many images "auto" trains no autoencoder: UMAP reads the pixels. On 300 colour images of three
# shapes (bench/defaults.py, colour_shapes) the dense network's embedding reached ACC 0.90-0.93 and the
# convolutional one 0.62-0.997 over seeds 0-2, where UMAP + GMM of the pixels found all three groups.
FEW_IMAGES = 1000

NETWORK = Param(
    "architecture", OneOf(*ARCHITECTURES, "pixels"), "Autoencoder",
    help="The network whose embedding UMAP reads. auto: the paper's dense network (d-500-500-2000-10), or none "
         "for fewer than 1,000 images, too few to train one on (UMAP then reads the pixels). dense, convolutional: "
         "always that network. pixels: no network.")

AUGMENT = Param(
    "augment", OneOf(*AUGMENT_CHOICES), "Moved images in pretraining", advanced=True,
    help="Train the autoencoder on images shifted (up to a tenth) and turned (up to 10 degrees) at random, so that "
         "where a shape sits matters less (DEC-DA). auto: for images of 16x16 pixels and up. Over 5 seeds it lifted "
         "the mean ACC on 5,000 real handwritten digits from 0.923 to 0.935, on 5,000 typed digits from 0.88 to "
         "0.98, for about a fifth more time per epoch.")


class N2D(ManifoldMixtureView, _AutoencoderClustering):
    """"Not too deep" clustering: learn an embedding, find its manifold with UMAP, cluster with a GMM.

    The autoencoder compresses the images; UMAP, run on the embedding with small `min_dist`,
    gathers each local neighbourhood into a tight group, which a Gaussian mixture then separates.

    Parameters
    ----------
    n_clusters, latent_dim, hidden_units, epochs, batch_size, learning_rate, input_dropout,
    restart_every, random_state
        As :class:`~core.algorithms.autoencoder.AutoencoderKMeans`.
    architecture : {"auto", "dense", "convolutional", "pixels"}, default="auto"
        The network whose embedding UMAP reads. "auto" is the paper's dense network for `FEW_IMAGES`
        (1,000) images and more, and no network below that: UMAP then reads the pixels ("pixels"). On
        5,000 real MNIST digits the dense network gave ACC 0.909-0.918 in 89-95 s over seeds 0-2, the
        convolutional one 0.805-0.923 in 131-141 s (bench/defaults.py, 2026-12-03).
    augment : {"auto", "on", "off"}, default="auto"
        Pretrain on images moved at random (shifts up to a tenth of a side, turns up to 10 degrees; DEC-DA,
        Guo et al. 2018): "auto" does for images of 16x16 pixels and up, never for tables.
    umap_dim : int or None, default=None
        Dimensions of the UMAP manifold; None means `n_clusters` (the paper's choice).
    umap_neighbors : int, default=20
        UMAP's neighbourhood size (20 in the paper for MNIST-sized data).
    umap_min_dist : float, default=0.0
        UMAP's minimum distance; 0 packs neighbours tightly, which suits clustering.
    umap_fit : {"all", "sample"}, default="all"
        What UMAP is fitted on: all images, or a random 10,000 with the others placed by UMAP's
        ``transform`` (faster; on 70,000 real digits it cost 0.07 NMI, so it is never the default).
    covariance_type : {"full", "diag", "tied", "spherical"}, default="full"
    n_init : int, default=5
        GMM restarts.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    embedding_ : ndarray of shape (n_samples, umap_dim)
        The UMAP manifold the mixture was fitted in.
    latent_ : ndarray of shape (n_samples, latent_dim)
        The autoencoder's embedding (the flattened pixels where no network was trained).
    space_kind_ : {"autoencoder", "pixels"}
        Whether an autoencoder was trained, or UMAP read the pixels.
    probabilities_ : ndarray of shape (n_samples, n_clusters)
    gmm_ : sklearn.mixture.GaussianMixture

    Notes
    -----
    UMAP here is fitted with exact nearest neighbours passed in (fast and deterministic for up to
    tens of thousands of points) and cannot place new samples, so N2D has no `predict`.
    """

    name, title = "n2d", "N2D (autoencoder + UMAP + GMM)"
    cannot_predict = "N2D's UMAP manifold is not saved with the run, and a new UMAP would move every point"
    description = ("Autoencoder, then UMAP of its embedding to a few dimensions, then a Gaussian mixture "
                   "(McConville et al. 2019). The default: the strongest method here on real handwritten and typed "
                   "digits; its autoencoder learns from images moved at random (shifted, turned), so that where a "
                   "shape sits matters less. Below 1,000 images it trains no autoencoder (too few images to learn "
                   "from) and UMAP reads the pixels. It cannot place new images (its UMAP is not saved); for that, and to see inside the "
                   "model, use the others.")
    parameters = AUTOENCODER_PARAMETERS + (NETWORK, AUGMENT) + UMAP_PARAMETERS + (
        Param("covariance_type", OneOf("full", "diag", "tied", "spherical")),
        Param("n_init", Interval(int, 1, None)),
    )
    _cluster_title = "UMAP and a Gaussian mixture"

    def __init__(self, n_clusters: int = 10, *, latent_dim: int = 10, hidden_units=(500, 500, 2000),
                 epochs: int = 75, batch_size=None, learning_rate: float = 1e-3,
                 input_dropout: float = 0.0, restart_every: int = 25, umap_dim=None, umap_neighbors: int = 20,
                 umap_min_dist: float = 0.0, umap_fit: str = "all", covariance_type: str = "full", n_init: int = 5,
                 architecture: str = "auto", augment: str = "auto", random_state: int = 0):
        super().__init__(n_clusters, latent_dim=latent_dim, hidden_units=hidden_units, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, input_dropout=input_dropout,
                         restart_every=restart_every, random_state=random_state)
        self.umap_dim = umap_dim
        self.umap_neighbors = umap_neighbors
        self.umap_min_dist = umap_min_dist
        self.umap_fit = umap_fit
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.architecture = architecture
        self.augment = augment

    def _network(self) -> dict:
        """N2D's "auto" network is the paper's dense one, whatever the images' size."""
        architecture = "dense" if self.architecture in ("auto", "pixels") else self.architecture
        return {"architecture": architecture, "hidden_units": self.hidden_units, "augment": self.augment}

    def _trains_a_network(self, n_samples) -> bool:
        """Whether an autoencoder is trained for `n_samples` images (None: as in the fit, once fitted)."""
        if self.architecture != "auto":
            return self.architecture != "pixels"
        if n_samples is None:
            return getattr(self, "space_kind_", "autoencoder") != "pixels"
        return n_samples >= FEW_IMAGES

    def _make_space(self, *, image_shape=None, network=None, n_samples=None):
        if not self._trains_a_network(n_samples):
            return PixelSpace()
        return super()._make_space(image_shape=image_shape, network=network)

    def _fit(self, X: np.ndarray) -> None:
        space, inputs = self._fit_space(X)
        self.space_kind_ = space.kind
        report = self._reporter("cluster")
        with self._timed("manifold"):
            dim = manifold_dim(self.umap_dim, self.n_clusters, len(inputs))
            if space.kind == "pixels" and self.architecture == "auto":
                report(f"{len(inputs):,} images are too few to train an autoencoder on (N2D trains one from "
                       f"{FEW_IMAGES:,}): UMAP reads the pixels", 0.0)
            report(f"Finding the manifold: UMAP of {space.points} to {dim} dimensions", 0.0)
            self.latent_ = space.encode(inputs)
            self.embedding_ = umap_manifold(self.latent_, self.n_clusters, umap_dim=self.umap_dim,
                                            n_neighbors=self.umap_neighbors, min_dist=self.umap_min_dist,
                                            random_state=self.random_state, fit=self.umap_fit)
        with self._timed("cluster"):
            report("Clustering the manifold with a Gaussian mixture", 0.6)
            self.gmm_ = fit_gaussian_mixture(self.embedding_, self.n_clusters, covariance_type=self.covariance_type,
                                             n_init=self.n_init, random_state=self.random_state)
            self.probabilities_ = self.gmm_.predict_proba(self.embedding_)
            self.labels_ = self.probabilities_.argmax(axis=1).astype(np.int64)
        report("Clustered", 1.0)

    def progress_plan(self) -> list:
        pretrain = [("pretrain", float(self.epochs))] if self.architecture != "pixels" else []
        return pretrain + [("cluster", 15.0)]  # UMAP takes about 15 epochs' time

    def transform(self, X) -> np.ndarray:
        """The autoencoder's embedding of `X` (the UMAP step cannot place new samples)."""
        return super().transform(X)
