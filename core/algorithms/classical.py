"""Classical clustering (scikit-learn) on raw pixels or on a learned autoencoder embedding.

Every method here takes ``space="pixels"`` (the flattened images, no learning) or
``space="autoencoder"`` (first pretrain the dense autoencoder of the deep methods, ``latent_dim``
and ``epochs`` apply, then cluster its embedding), so a user can see what the learned space changes
for the same clustering rule.
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, SpectralClustering
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from core.algorithms.autoencoder import fit_gaussian_mixture
from core.algorithms.assignment import nearest_row
from core.algorithms.base import ClusteringAlgorithm
from core.algorithms.kmeans import KMEANS_BACKEND, run_kmeans
from core.algorithms.manifold import UMAP_PARAMETERS, ManifoldMixtureView, umap_manifold
from core.algorithms.spaces import SPACE_KINDS as SPACES
from core.algorithms.spaces import space_of_kind
from core.params import Interval, OneOf, Param
K_DISTANCE_MAX_POINTS = 2000  # points kept of the k-distance curve for the view

# Where a classical method clusters, and the autoencoder it trains there when asked.
SPACE_PARAMETERS = (
    Param("space", OneOf(*SPACES), "Cluster in",
          help="The raw pixels; the embedding of an autoencoder trained first (latent size and epochs below "
               "apply); imagenet: the features of MobileNetV2 pretrained on ImageNet (weights downloaded once, "
               "about 9 MB); or, for photos, a modern vision backbone: dinov2 (DINOv2 ViT-S/14, about 90 MB), "
               "clip (CLIP ViT-B/16, about 600 MB) or siglip (SigLIP ViT-B/16, about 800 MB), downloaded once "
               "by KerasHub. The pretrained networks group photos by what they show rather than by colour."),
    Param("latent_dim", Interval(int, 1, None), "Latent size (autoencoder space)", low=2, high=64, step=1, advanced=True,
          help="Embedding size when clustering in the autoencoder's space.", applies_when=("space", ("autoencoder",))),
    Param("epochs", Interval(int, 1, None), "Epochs (autoencoder space)", high=300, step=1, advanced=True,
          help="Autoencoder training passes when clustering in the autoencoder's space.",
          applies_when=("space", ("autoencoder",))),
    Param("random_state", Interval(int, 0, None)),
)
N_CLUSTERS = Param("n_clusters", Interval(int, 1, None))


class PixelKMeans(ClusteringAlgorithm):
    """k-means on the flattened pixels: the baseline every learned embedding should beat.

    Parameters
    ----------
    n_clusters : int, default=10
    n_init : int, default=10
        Number of k-means++ restarts; the best inertia wins.
    kmeans_backend : {"auto", "scikit-learn", "mini-batch", "tensorflow"}, default="auto"
        Who runs k-means (:mod:`core.algorithms.kmeans`); "auto": TensorFlow on a GPU, else scikit-learn,
        in mini-batches above 40,000 images (:mod:`core.algorithms.kmeans`: several times faster on pixels).
    random_state : int, default=0

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    embedding_ : ndarray of shape (n_samples, n_features)
        The flattened pixels (the space the clustering was made in).
    inertia_ : float

    Examples
    --------
    >>> from core.data import load_dataset
    >>> data = load_dataset("digits")
    >>> PixelKMeans(n_clusters=10).fit(data.images).labels_.shape
    (1797,)
    """

    name, title = "kmeans", "k-means on pixels"
    description = "Classical k-means on the raw pixels, no learning: the baseline the deep methods should beat."
    parameters = (N_CLUSTERS, Param("n_init", Interval(int, 1, None)), KMEANS_BACKEND,
                  Param("random_state", Interval(int, 0, None)))
    can_predict = True
    predict_rule = "each image joins its nearest cluster centre"

    def __init__(self, n_clusters: int = 10, *, n_init: int = 10, kmeans_backend: str = "auto", random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.kmeans_backend = kmeans_backend
        self.random_state = random_state

    _cluster_title = "k-means"

    def _cluster_embedding(self, Z):
        self.cluster_centers_, labels, self.inertia_ = run_kmeans(
            Z, self.n_clusters, backend=self.kmeans_backend, n_init=self.n_init, random_state=self.random_state)
        return labels

    def _predict_embedding(self, Z):
        """Each sample's nearest centre."""
        return nearest_row(Z, self.cluster_centers_)

    def view_data(self) -> dict:
        """The cluster centres as images (each is the mean image of its cluster)."""
        return {"centers": self._as_images(self.cluster_centers_)}


class _SpaceClustering(ClusteringAlgorithm):
    """A scikit-learn clustering rule applied in the space its `space` parameter names: the pixels, an
    autoencoder trained first (`latent_dim` and `epochs`; its other settings are the deep methods' defaults),
    or ImageNet features (:mod:`core.algorithms.spaces`)."""

    parameters = SPACE_PARAMETERS

    def _set_space(self, space, latent_dim, epochs, random_state):
        self.space = space
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.random_state = random_state

    def _make_space(self, *, image_shape=None, network=None, n_samples=None):
        return space_of_kind(self.space, latent_dim=self.latent_dim, epochs=self.epochs, seed=self.random_state,
                             image_shape=image_shape, network=network)


_SPACE_DOC = """space : {"pixels", "autoencoder", "imagenet", "dinov2", "clip", "siglip"}, default="pixels"
        Cluster the raw pixels, the embedding of an autoencoder pretrained first (convolutional for
        images of 16x16 pixels and up, dense otherwise), the features of an image network pretrained
        on ImageNet (:mod:`core.models.imagenet`), or those of a modern vision backbone
        (:mod:`core.models.backbones`); the pretrained networks group photos by what they show.
    latent_dim : int, default=10
        Embedding size (``space="autoencoder"`` only).
    epochs : int, default=75
        Autoencoder training epochs (``space="autoencoder"`` only)."""


class Agglomerative(_SpaceClustering):
    __doc__ = f"""Agglomerative (hierarchical) clustering: merge the closest groups until `n_clusters` remain.

    Parameters
    ----------
    n_clusters : int, default=10
    linkage : {{"ward", "average", "complete"}}, default="ward"
        Ward merges the pair that least increases within-group variance (compact, even clusters);
        average and complete use the mean or largest pairwise distance (average follows elongated
        shapes better; complete makes tight, similar-diameter groups).
    {_SPACE_DOC}
    random_state : int, default=0
        Seeds the autoencoder (the tree itself is deterministic).

    Attributes
    ----------
    labels_, embedding_
    linkage_matrix_ : ndarray of shape (n_samples - 1, 4)
        The whole tree in SciPy's linkage format (for the dendrogram).
    """

    name, title = "agglomerative", "Agglomerative (hierarchical)"
    cannot_predict = "agglomerative clustering builds one tree of the images it was given, with no rule for new ones"
    description = ("Merges the closest groups step by step; the dendrogram shows the whole hierarchy. A good "
                   "choice for small data (memory grows with the square of the sample count) and to see how "
                   "clusters nest.")
    parameters = (N_CLUSTERS, Param(
        "linkage", OneOf("ward", "average", "complete"), "Linkage",
        help="Ward: compact, even clusters (usually best). Average: follows elongated "
             "shapes. Complete: tight groups of similar diameter.")) + SPACE_PARAMETERS
    _cluster_title = "agglomerative clustering"

    def __init__(self, n_clusters: int = 10, *, linkage: str = "ward", space: str = "pixels",
                 latent_dim: int = 10, epochs: int = 75, random_state: int = 0):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self._set_space(space, latent_dim, epochs, random_state)

    def _cluster_embedding(self, Z):
        model = AgglomerativeClustering(self.n_clusters, linkage=self.linkage, compute_distances=True).fit(Z)
        self.linkage_matrix_ = linkage_matrix(model.children_, model.distances_, len(Z))
        return model.labels_

    def view_data(self) -> dict:
        return {"linkage": self.linkage_matrix_.astype(np.float64)}


def linkage_matrix(children: np.ndarray, distances: np.ndarray, n_samples: int) -> np.ndarray:
    """scikit-learn's merge tree as a SciPy linkage matrix: [child a, child b, distance, size]."""
    sizes = np.zeros(len(children))
    for i, (a, b) in enumerate(children):
        sizes[i] = sum(1 if c < n_samples else sizes[c - n_samples] for c in (a, b))
    # Ward's distances from scikit-learn can be non-monotone by rounding; SciPy requires monotone.
    return np.column_stack([children, np.maximum.accumulate(distances), sizes]).astype(np.float64)


def k_distances(X: np.ndarray, k: int) -> np.ndarray:
    """Each point's distance to its k-th nearest neighbour (itself excluded), sorted ascending."""
    k = int(min(k, len(X) - 1))
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return np.sort(distances[:, -1])


def knee(values: np.ndarray) -> float:
    """The value at the knee of an ascending curve: the point farthest below the chord joining its
    ends (the "kneedle" rule, Satopaa et al. 2011)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 3 or values[-1] == values[0]:
        return float(values[len(values) // 2])
    x = np.linspace(0.0, 1.0, len(values))
    y = (values - values[0]) / (values[-1] - values[0])
    return float(values[int(np.argmax(x - y))])


def suggest_eps(X: np.ndarray, min_samples: int, *, n_candidates: int = 18,
                random_state: int = 0) -> tuple[float, np.ndarray]:
    """A DBSCAN radius chosen without labels; returns (eps, the sorted k-distance curve).

    Candidates are radii read off the `min_samples`-distance curve (Ester et al. 1996) between its
    10th and 95th percentile. Each is scored by the silhouette of the points it clusters times the
    fraction it clusters (so neither "all noise" nor "one big cluster" wins), and the best is kept.
    The curve's knee, the classic reading, is the fallback when no candidate gives two clusters: on
    high-dimensional data (raw pixels) the knee usually sits too high and merges everything.
    """
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    curve = k_distances(X, min_samples)
    rng = np.random.default_rng(random_state)
    sample = rng.choice(len(X), size=min(len(X), 2000), replace=False)
    best, best_score = knee(curve), -np.inf
    for eps in np.unique(np.quantile(curve, np.linspace(0.10, 0.95, n_candidates))):
        if eps <= 0:
            continue
        labels = DBSCAN(eps=float(eps), min_samples=min_samples).fit(X).labels_
        kept = sample[labels[sample] >= 0]
        if len(np.unique(labels[kept])) < 2 or len(kept) < 3:
            continue
        score = silhouette_score(X[kept], labels[kept]) * np.mean(labels >= 0)
        if score > best_score:
            best, best_score = float(eps), score
    return best, curve


def _thin(curve: np.ndarray, most: int = K_DISTANCE_MAX_POINTS) -> np.ndarray:
    if len(curve) <= most:
        return curve.astype(np.float32)
    return curve[np.linspace(0, len(curve) - 1, most).round().astype(int)].astype(np.float32)


class DBSCANClustering(_SpaceClustering):
    __doc__ = f"""DBSCAN: clusters are dense regions; points in sparse regions are noise (label -1).

    The number of clusters is found, not given. Good when clusters have similar density and odd
    shapes, and when outliers should stay out of every cluster.

    Parameters
    ----------
    eps : float or None, default=None
        Neighbourhood radius. None takes :func:`suggest_eps`: the radius on the k-distance curve
        (k = `min_samples`) whose clustering scores best, without labels.
    min_samples : int, default=5
        Neighbours (itself included) a point needs to be a core point.
    {_SPACE_DOC}
    random_state : int, default=0

    Attributes
    ----------
    labels_, embedding_
    eps_ : float
        The radius used (the suggestion when `eps` is None).
    suggested_eps_ : float
    k_distances_ : ndarray
        The sorted k-distance curve the suggestion comes from.
    """

    name, title = "dbscan", "DBSCAN"
    cannot_predict = "DBSCAN keeps no model of its clusters, only which images were dense enough"
    description = ("Finds dense regions and calls sparse points noise; the number of clusters is found, not set. "
                   "A good choice for odd-shaped clusters of similar density with outliers, usually in a learned "
                   "space rather than on raw pixels.")
    uses_n_clusters = False
    parameters = (
        Param("eps", Interval(float, 0, None, low_open=True, allow_none=True), "Radius eps (empty: suggested)", step=0.05,
              help="Neighbourhood radius. Leave empty for a suggestion read off the k-distance "
                   "curve (the radius whose clusters score best, no labels used); the Model page "
                   "shows the curve."),
        Param("min_samples", Interval(int, 2, None), "Min samples", high=50, step=1,
              help="Neighbours a point needs to be a core point; larger means more noise."),
    ) + SPACE_PARAMETERS
    _cluster_title = "DBSCAN"

    def __init__(self, *, eps=None, min_samples: int = 5, space: str = "pixels", latent_dim: int = 10,
                 epochs: int = 75, random_state: int = 0):
        self.eps = eps
        self.min_samples = min_samples
        self._set_space(space, latent_dim, epochs, random_state)

    def _cluster_embedding(self, Z):
        self.suggested_eps_, self.k_distances_ = suggest_eps(Z, self.min_samples, random_state=self.random_state)
        self.eps_ = float(self.eps) if self.eps is not None else self.suggested_eps_
        return DBSCAN(eps=self.eps_, min_samples=self.min_samples).fit(Z).labels_

    def view_data(self) -> dict:
        return {"k_distances": _thin(self.k_distances_), "eps": self.eps_, "suggested_eps": self.suggested_eps_,
                "min_samples": self.min_samples}


class HDBSCANClustering(_SpaceClustering):
    __doc__ = f"""HDBSCAN: DBSCAN over every density level, keeping the most stable clusters.

    No radius to tune; the number of clusters is found and sparse points are noise (label -1).
    Good when clusters differ in density.

    Parameters
    ----------
    min_cluster_size : int, default=15
        Smallest group counted as a cluster.
    min_samples : int or None, default=None
        How conservative the density estimate is (None: `min_cluster_size`); larger means more noise.
    {_SPACE_DOC}
    random_state : int, default=0

    Attributes
    ----------
    labels_, embedding_
    probabilities_ : ndarray of shape (n_samples,)
        Strength of each sample's membership (0 for noise).
    """

    name, title = "hdbscan", "HDBSCAN"
    cannot_predict = "HDBSCAN keeps no model of its clusters for new images here"
    description = ("DBSCAN over all densities, keeping the most stable clusters: no radius to tune and copes "
                   "with clusters of different density. The number of clusters is found, sparse points are noise.")
    uses_n_clusters = False
    parameters = (
        Param("min_cluster_size", Interval(int, 2, None), "Min cluster size", high=200, step=1,
              help="The smallest group counted as a cluster."),
        Param("min_samples", Interval(int, 1, None, allow_none=True)),
    ) + SPACE_PARAMETERS
    _cluster_title = "HDBSCAN"

    def __init__(self, *, min_cluster_size: int = 15, min_samples=None, space: str = "pixels",
                 latent_dim: int = 10, epochs: int = 75, random_state: int = 0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self._set_space(space, latent_dim, epochs, random_state)

    def _cluster_embedding(self, Z):
        # on fewer images than the smallest cluster, the largest allowed (it crashed on 12 images before)
        size = int(min(self.min_cluster_size, len(Z)))
        samples = None if self.min_samples is None else int(min(self.min_samples, len(Z)))
        model = HDBSCAN(min_cluster_size=size, min_samples=samples, copy=True).fit(Z)
        self.membership_ = model.probabilities_.astype(np.float32)
        return model.labels_

    def view_data(self) -> dict:
        return {"confidence": self.membership_}


class GaussianMixtureClustering(_SpaceClustering):
    __doc__ = f"""Gaussian mixture model: each cluster a Gaussian, fitted by expectation-maximisation.

    Soft assignments (a probability per cluster) and elliptical clusters of different sizes.

    Parameters
    ----------
    n_clusters : int, default=10
    covariance_type : {{"auto", "full", "diag", "tied", "spherical"}}, default="auto"
        Shape of each Gaussian. "auto" is "full" up to 100 features and "diag" above (full
        covariances of raw 28x28 pixels are slow and overfit).
    n_init : int, default=3
    {_SPACE_DOC}
    random_state : int, default=0

    Attributes
    ----------
    labels_, embedding_, probabilities_
    bic_ : float
        Bayesian information criterion of the fitted mixture (lower is better).
    """

    name, title = "gmm", "Gaussian mixture"
    description = ("Each cluster a Gaussian: soft memberships and elliptical clusters of different sizes. A "
                   "good choice in a low-dimensional learned space; on raw pixels it needs diagonal covariances.")
    parameters = (
        N_CLUSTERS,
        Param("covariance_type", OneOf("auto", "full", "diag", "tied", "spherical"), "Covariance",
              help="auto: full up to 100 features, else diag. Spherical behaves like k-means."),
        Param("n_init", Interval(int, 1, None)),
    ) + SPACE_PARAMETERS
    _cluster_title = "a Gaussian mixture"

    def __init__(self, n_clusters: int = 10, *, covariance_type: str = "auto", n_init: int = 3,
                 space: str = "pixels", latent_dim: int = 10, epochs: int = 75, random_state: int = 0):
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self._set_space(space, latent_dim, epochs, random_state)

    def _cluster_embedding(self, Z):
        covariance = self.covariance_type
        if covariance == "auto":
            covariance = "full" if Z.shape[1] <= 100 else "diag"
        self.gmm_ = GaussianMixture(self.n_clusters, covariance_type=covariance, n_init=self.n_init,
                                    reg_covar=1e-4, random_state=self.random_state).fit(Z)
        self.probabilities_ = self.gmm_.predict_proba(Z)
        self.bic_ = float(self.gmm_.bic(Z))
        return self.probabilities_.argmax(axis=1)

    can_predict = True
    predict_rule = "each image joins the Gaussian most likely to have made it"

    def _membership(self, Z):
        return self.gmm_.predict_proba(Z)

    def _predict_embedding(self, Z):
        return self.gmm_.predict(Z)


class UMAPGMM(ManifoldMixtureView, _SpaceClustering):
    __doc__ = f"""UMAP to a few dimensions, then a Gaussian mixture: N2D's clustering step on any space.

    On raw pixels it is a strong reference (on 8x8 digits it matches N2D); on a pretrained network's
    features it is the way to cluster photos.

    Parameters
    ----------
    n_clusters : int, default=10
    umap_dim : int or None, default=None
        Dimensions of the UMAP manifold; None means `n_clusters`.
    umap_neighbors : int, default=20
    umap_min_dist : float, default=0.0
    umap_fit : {"all", "sample"}, default="all"
        What UMAP is fitted on: all images, or a random 10,000 with the others placed by UMAP's
        ``transform`` (faster; on 70,000 real digits it cost 0.07 NMI, so it is never the default).
    n_init : int, default=5
        Mixture restarts (full covariances).
    {_SPACE_DOC}
    random_state : int, default=0

    Attributes
    ----------
    labels_, probabilities_, gmm_
    embedding_ : ndarray of shape (n_samples, umap_dim)
        The UMAP manifold the mixture was fitted in (UMAP with exact neighbours cannot place new
        samples, so there is no `predict`).
    """

    name, title = "umap_gmm", "UMAP + GMM"
    cannot_predict = "its UMAP manifold is not saved with the run, and a new UMAP would move every point"
    description = ("UMAP of the chosen space to a few dimensions, then a Gaussian mixture: N2D's clustering step "
                   "without its autoencoder. A strong reference on raw pixels, and the way to cluster photos: choose "
                   "imagenet in Cluster in.")
    parameters = (N_CLUSTERS,) + UMAP_PARAMETERS + (Param("n_init", Interval(int, 1, None)),) + SPACE_PARAMETERS
    _cluster_title = "UMAP and a Gaussian mixture"

    def __init__(self, n_clusters: int = 10, *, umap_dim=None, umap_neighbors: int = 20, umap_min_dist: float = 0.0,
                 umap_fit: str = "all", n_init: int = 5, space: str = "pixels", latent_dim: int = 10, epochs: int = 75,
                 random_state: int = 0):
        self.n_clusters = n_clusters
        self.umap_dim = umap_dim
        self.umap_neighbors = umap_neighbors
        self.umap_min_dist = umap_min_dist
        self.umap_fit = umap_fit
        self.n_init = n_init
        self._set_space(space, latent_dim, epochs, random_state)

    def _cluster_embedding(self, Z):
        manifold = umap_manifold(Z, self.n_clusters, umap_dim=self.umap_dim, n_neighbors=self.umap_neighbors,
                                 min_dist=self.umap_min_dist, random_state=self.random_state, fit=self.umap_fit)
        self.gmm_ = fit_gaussian_mixture(manifold, self.n_clusters, n_init=self.n_init, random_state=self.random_state)
        self.probabilities_ = self.gmm_.predict_proba(manifold)
        self._manifold = manifold
        return self.probabilities_.argmax(axis=1)

    def _fit(self, X: np.ndarray) -> None:
        super()._fit(X)
        self.embedding_ = self._manifold  # where the mixture was fitted (and its silhouette belongs)


class Spectral(_SpaceClustering):
    __doc__ = f"""Spectral clustering on a k-nearest-neighbour graph.

    Cuts the neighbour graph where it is thinnest, so it follows non-convex, connected shapes that
    k-means splits. Memory and time grow quickly with the number of samples (fine up to ~10k).

    Parameters
    ----------
    n_clusters : int, default=10
    n_neighbors : int, default=10
        Neighbours per point in the affinity graph.
    {_SPACE_DOC}
    random_state : int, default=0
    """

    name, title = "spectral", "Spectral clustering"
    cannot_predict = "spectral clustering cuts a graph of the images it was given, with no rule for new ones"
    description = ("Cuts a nearest-neighbour graph where it is thinnest: follows connected, non-convex shapes "
                   "that k-means splits. A good choice up to about 10,000 images.")
    parameters = (N_CLUSTERS, Param("n_neighbors", Interval(int, 2, None), "Graph neighbours", high=50, step=1,
                                    help="Neighbours per image in the affinity graph.")) + SPACE_PARAMETERS
    _cluster_title = "spectral clustering"

    def __init__(self, n_clusters: int = 10, *, n_neighbors: int = 10, space: str = "pixels",
                 latent_dim: int = 10, epochs: int = 75, random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_neighbors = n_neighbors
        self._set_space(space, latent_dim, epochs, random_state)

    def _cluster_embedding(self, Z):
        if self.n_clusters >= len(Z):  # each image its own cluster (the eigensolver needs fewer clusters than images)
            return np.arange(len(Z))
        model = SpectralClustering(self.n_clusters, affinity="nearest_neighbors",
                                   n_neighbors=int(min(self.n_neighbors, len(Z) - 1)),
                                   assign_labels="cluster_qr", random_state=self.random_state).fit(Z)
        return model.labels_


__all__ = ["Agglomerative", "DBSCANClustering", "GaussianMixtureClustering", "HDBSCANClustering", "PixelKMeans",
           "Spectral", "UMAPGMM", "k_distances", "knee", "linkage_matrix", "suggest_eps"]
