"""Every algorithm the app offers, by name, with the tunable parameters the UI shows for it."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
import inspect
from typing import Optional, Sequence

from core.algorithms.autoencoder import AutoencoderGMM, AutoencoderKMeans
from core.algorithms.base import ClusteringAlgorithm
from core.algorithms.classical import (UMAPGMM, Agglomerative, DBSCANClustering, GaussianMixtureClustering,
                                       HDBSCANClustering, PixelKMeans, Spectral)
from core.algorithms.dec import DCEC, DEC, IDEC
from core.algorithms.n2d import N2D
from core.algorithms.som import SelfOrganizingMap
from core.algorithms.vade import VaDE
from core.params import FROM_ESTIMATOR, ParamSpec


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    title: str
    estimator: type
    description: str
    params: Sequence[ParamSpec] = field(default_factory=tuple)
    deep: bool = False
    uses_n_clusters: bool = True

    @property
    def family(self) -> str:
        return "Deep" if self.deep else "Classical"

    def __post_init__(self):
        # One truth: what the form offers starts from the estimator's own default, and its range starts
        # where the estimator's constraint does (tests/test_params.py checks every parameter).
        defaults = {name: p.default for name, p in inspect.signature(self.estimator).parameters.items()}
        resolved = []
        for p in self.params:
            if p.name not in defaults:
                raise TypeError(f"{self.estimator.__name__} has no parameter {p.name!r} for the form to set.")
            if p.default is FROM_ESTIMATOR:
                p = replace(p, default=defaults[p.name])
            resolved.append(p)
        object.__setattr__(self, "params", tuple(resolved))

    def param(self, name: str) -> Optional[ParamSpec]:
        return next((p for p in self.params if p.name == name), None)

    def build(self, n_clusters: int, **params) -> ClusteringAlgorithm:
        """An estimator with `n_clusters` (ignored by methods that find the count themselves) and the
        given parameters (others at their defaults)."""
        known = {p.name for p in self.params} | {"random_state"}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"{self.title} has no parameter(s) {', '.join(sorted(unknown))}.")
        if self.uses_n_clusters:
            params["n_clusters"] = n_clusters
        return self.estimator(**params)



_AUTOENCODER_PARAMS = (
    ParamSpec("latent_dim", "Latent size", "int", FROM_ESTIMATOR, 2, 64, 1,
              help="Size of the learned embedding. 10 is the usual choice for 10 classes."),
    ParamSpec("epochs", "Epochs", "int", FROM_ESTIMATOR, 1, 300, 1,
              help="Autoencoder training passes over the data. More epochs: lower reconstruction loss, longer wait."),
    ParamSpec("batch_size", "Batch size", "choice", FROM_ESTIMATOR, options=(None, 32, 64, 128, 256, 512, 1024), advanced=True,
              help="Images per training step. auto: 256, or fewer on small data so that an epoch has at "
                   "least 25 steps (64 for digits)."),
    ParamSpec("learning_rate", "Learning rate", "choice", FROM_ESTIMATOR, options=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
              advanced=True, help="Adam's step size. Lower it if the loss diverges."),
    ParamSpec("input_dropout", "Input dropout (denoising)", "float", FROM_ESTIMATOR, 0.0, 0.5, 0.05, advanced=True,
              help="Fraction of pixels hidden from the encoder while training; 0 trains a plain autoencoder."),
    ParamSpec("restart_every", "Restart Adam every (epochs)", "int", FROM_ESTIMATOR, 0, 100, 5, advanced=True,
              help="Warm restarts of the optimiser; they gave better embeddings for clustering. 0: never."),
)

_ARCHITECTURE = ParamSpec(
    "architecture", "Autoencoder", "choice", FROM_ESTIMATOR, options=("auto", "dense", "convolutional"),
    help="The network that learns the embedding. auto: convolutional for images of 16x16 pixels and up (it "
         "sees strokes and shapes wherever they are), dense for smaller images such as 8x8 digits, and for tables.")

_SPACE_PARAMS = (
    ParamSpec("space", "Cluster in", "choice", FROM_ESTIMATOR, options=("pixels", "autoencoder", "imagenet"),
              help="The raw pixels; the embedding of an autoencoder trained first (latent size and epochs below "
                   "apply); or imagenet: the features of an image network pretrained on ImageNet (MobileNetV2, "
                   "weights downloaded once, about 9 MB), which groups photos by what they show rather than by "
                   "their colours."),
    ParamSpec("latent_dim", "Latent size (autoencoder space)", "int", FROM_ESTIMATOR, 2, 64, 1, advanced=True,
              help="Embedding size when clustering in the autoencoder's space.",
              applies_when=("space", ("autoencoder",))),
    ParamSpec("epochs", "Epochs (autoencoder space)", "int", FROM_ESTIMATOR, 1, 300, 1, advanced=True,
              help="Autoencoder training passes when clustering in the autoencoder's space.",
              applies_when=("space", ("autoencoder",))),
)
_KMEANS_BACKEND = ParamSpec("kmeans_backend", "k-means by", "choice", FROM_ESTIMATOR, options=("auto", "scikit-learn", "tensorflow"), advanced=True,
    help="TensorFlow's batched k-means runs on a GPU when there is one; auto uses it only then "
         "(scikit-learn is faster on a CPU). Both give the same clustering up to ties.")
_DEC_PARAMS = (
    ParamSpec("cluster_epochs", "Clustering epochs (at most)", "int", FROM_ESTIMATOR, 0, 200, 1,
              help="Passes of the clustering phase after pretraining; it stops earlier once fewer "
                   "than the tolerance of labels change between target refreshes."),
    ParamSpec("tol", "Stop when labels changed below", "choice", FROM_ESTIMATOR, options=(0.0001, 0.001, 0.005, 0.01, 0.05),
              advanced=True, help="Fraction of samples changing cluster between two refreshes of the target."),
    ParamSpec("cluster_learning_rate", "Clustering learning rate", "choice", FROM_ESTIMATOR,
              options=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3), advanced=True,
              help="Adam's step size in the clustering phase."),
    _KMEANS_BACKEND,
)
_GAMMA = ParamSpec("gamma", "Clustering loss weight (gamma)", "choice", FROM_ESTIMATOR, options=(0.01, 0.05, 0.1, 0.5, 1.0),
                   help="Weight of the clustering loss against reconstruction (0.1 in the IDEC and DCEC papers).")


def _without(params, *names):
    return tuple(p for p in params if p.name not in names)


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in [
        AlgorithmSpec(
            "ae_kmeans", "Autoencoder + k-means", AutoencoderKMeans,
            "Learns a compact embedding with an autoencoder, then runs k-means on it. The simplest deep "
            "method: compare it with k-means on pixels to see what the embedding alone adds, and decode each "
            "cluster's centre on the Model page.",
            _AUTOENCODER_PARAMS + (_ARCHITECTURE, _KMEANS_BACKEND), deep=True,
        ),
        AlgorithmSpec(
            "ae_gmm", "Autoencoder + GMM", AutoencoderGMM,
            "The same embedding, clustered by a Gaussian mixture: allows elongated clusters of "
            "different sizes and gives each image a membership probability.",
            _AUTOENCODER_PARAMS + (_ARCHITECTURE,
                ParamSpec("covariance_type", "Covariance", "choice", FROM_ESTIMATOR,
                          options=("full", "diag", "tied", "spherical"), advanced=True,
                          help="Shape of each Gaussian: full is most flexible, spherical is k-means-like."),
            ),
            deep=True,
        ),
        AlgorithmSpec(
            "dec", "DEC (deep embedded clustering)", DEC,
            "Pretrains the autoencoder, starts from k-means, then trains the encoder and the centres "
            "together so that confident assignments get more confident (Xie et al. 2016). Good when "
            "the autoencoder's embedding already separates the classes fairly well; shows each image's "
            "confidence and how labels moved.",
            _AUTOENCODER_PARAMS + (_ARCHITECTURE,) + _DEC_PARAMS, deep=True,
        ),
        AlgorithmSpec(
            "idec", "IDEC (improved DEC)", IDEC,
            "DEC that keeps training the decoder too, so the embedding cannot drift away from the "
            "images (Guo et al. 2017). Usually steadier than DEC; the same confidence view.",
            _AUTOENCODER_PARAMS + (_ARCHITECTURE,) + _DEC_PARAMS + (_GAMMA,), deep=True,
        ),
        AlgorithmSpec(
            "dcec", "DCEC (convolutional)", DCEC,
            "IDEC on a convolutional autoencoder (Guo et al. 2017): sees images as images, so it copes "
            "with shifted strokes and colour images of any size. Slower per epoch than the dense methods.",
            _without(_AUTOENCODER_PARAMS, "input_dropout") + _DEC_PARAMS + (_GAMMA,), deep=True,
        ),
        AlgorithmSpec(
            "vade", "VaDE (Gaussian-mixture VAE)", VaDE,
            "A variational autoencoder whose prior is a mixture of Gaussians, one per cluster (Jiang "
            "et al. 2017): a generative model, so it can draw new images of each cluster. A good choice "
            "to see what the model believes a cluster looks like; gives soft memberships.",
            _AUTOENCODER_PARAMS + (_ARCHITECTURE,
                ParamSpec("vade_epochs", "VaDE epochs", "int", FROM_ESTIMATOR, 0, 200, 1,
                          help="Passes training the variational objective after pretraining."),
                ParamSpec("beta", "Prior weight (beta)", "choice", FROM_ESTIMATOR, options=(1.0, 2.0, 4.0, 8.0, 16.0),
                          advanced=True, help="Scales the decoder's noise variance: larger lets the mixture "
                                              "prior shape the embedding more (8 measured best on digits)."),
                ParamSpec("vade_learning_rate", "VaDE learning rate", "choice", FROM_ESTIMATOR,
                          options=(1e-4, 3e-4, 1e-3, 2e-3), advanced=True,
                          help="Adam's step size for the variational objective."),
            ),
            deep=True,
        ),
        AlgorithmSpec(
            "som", "Self-organizing map", SelfOrganizingMap,
            "A grid of prototypes trained so that neighbouring nodes hold similar images (Kohonen), on "
            "the autoencoder's embedding or on raw pixels; the nodes are then grouped into clusters. A "
            "good choice to see the data laid out as a map: the Model page shows every node's prototype.",
            (ParamSpec("space", "Train the map on", "choice", FROM_ESTIMATOR, options=("latent", "pixels"),
                       help="The autoencoder's embedding (prototypes decoded into images), or the raw "
                            "pixels (fast, fine for small images such as digits)."),
             ParamSpec("grid_rows", "Map rows", "int", FROM_ESTIMATOR, 2, 30, 1, help="Rows of the map grid."),
             ParamSpec("grid_cols", "Map columns", "int", FROM_ESTIMATOR, 2, 30, 1, help="Columns of the map grid."),
             ParamSpec("som_epochs", "Map epochs", "int", FROM_ESTIMATOR, 1, 200, 1, advanced=True,
                       help="Batch-SOM updates; the neighbourhood shrinks from half the grid to 0.5 over them."),
             ) + tuple(p if p.name == "batch_size" else replace(p, applies_when=("space", ("latent",)))
                   for p in _AUTOENCODER_PARAMS + (_ARCHITECTURE,)),
            deep=True,
        ),
        AlgorithmSpec(
            "n2d", "N2D (autoencoder + UMAP + GMM)", N2D,
            "Autoencoder, then UMAP of its embedding to a few dimensions, then a Gaussian mixture "
            "(McConville et al. 2019). The default: the strongest method here on digits and on 28x28 images "
            "(a convolutional autoencoder for images of 16x16 and up), in about the time of the simplest deep "
            "one. It cannot place new images (its UMAP is not saved); for that, and to see inside the model, "
            "use the others.",
            _AUTOENCODER_PARAMS + (_ARCHITECTURE,
                ParamSpec("umap_neighbors", "UMAP neighbours", "int", FROM_ESTIMATOR, 2, 100, 1, advanced=True,
                          help="Neighbourhood size of the manifold: larger keeps more global structure."),
                ParamSpec("umap_min_dist", "UMAP min distance", "choice", FROM_ESTIMATOR, options=(0.0, 0.01, 0.05, 0.1, 0.25),
                          advanced=True, help="0 packs neighbours together, which suits clustering."),
            ),
            deep=True,
        ),
        AlgorithmSpec(
            "kmeans", "k-means on pixels", PixelKMeans,
            "Classical k-means on the raw pixels, no learning: the baseline the deep methods should beat.",
        ),
        AlgorithmSpec(
            "agglomerative", "Agglomerative (hierarchical)", Agglomerative,
            "Merges the closest groups step by step; the dendrogram shows the whole hierarchy. A good "
            "choice for small data (memory grows with the square of the sample count) and to see how "
            "clusters nest.",
            (ParamSpec("linkage", "Linkage", "choice", FROM_ESTIMATOR, options=("ward", "average", "complete"),
                       help="Ward: compact, even clusters (usually best). Average: follows elongated "
                            "shapes. Complete: tight groups of similar diameter."),) + _SPACE_PARAMS,
        ),
        AlgorithmSpec(
            "dbscan", "DBSCAN", DBSCANClustering,
            "Finds dense regions and calls sparse points noise; the number of clusters is found, not set. "
            "A good choice for odd-shaped clusters of similar density with outliers, usually in a learned "
            "space rather than on raw pixels.",
            (ParamSpec("eps", "Radius eps (empty: suggested)", "optional_float", FROM_ESTIMATOR, 0.0, None, 0.05,
                       help="Neighbourhood radius. Leave empty for a suggestion read off the k-distance "
                            "curve (the radius whose clusters score best, no labels used); the Model page "
                            "shows the curve."),
             ParamSpec("min_samples", "Min samples", "int", FROM_ESTIMATOR, 2, 50, 1,
                       help="Neighbours a point needs to be a core point; larger means more noise.")) + _SPACE_PARAMS,
            uses_n_clusters=False,
        ),
        AlgorithmSpec(
            "hdbscan", "HDBSCAN", HDBSCANClustering,
            "DBSCAN over all densities, keeping the most stable clusters: no radius to tune and copes "
            "with clusters of different density. The number of clusters is found, sparse points are noise.",
            (ParamSpec("min_cluster_size", "Min cluster size", "int", FROM_ESTIMATOR, 2, 200, 1,
                       help="The smallest group counted as a cluster."),) + _SPACE_PARAMS,
            uses_n_clusters=False,
        ),
        AlgorithmSpec(
            "gmm", "Gaussian mixture", GaussianMixtureClustering,
            "Each cluster a Gaussian: soft memberships and elliptical clusters of different sizes. A "
            "good choice in a low-dimensional learned space; on raw pixels it needs diagonal covariances.",
            (ParamSpec("covariance_type", "Covariance", "choice", FROM_ESTIMATOR,
                       options=("auto", "full", "diag", "tied", "spherical"),
                       help="auto: full up to 100 features, else diag. Spherical behaves like k-means."),)
            + _SPACE_PARAMS,
        ),
        AlgorithmSpec(
            "umap_gmm", "UMAP + GMM", UMAPGMM,
            "UMAP of the chosen space to a few dimensions, then a Gaussian mixture: N2D's clustering step without "
            "its autoencoder. A strong reference on raw pixels, and the way to cluster photos: choose imagenet "
            "in Cluster in.",
            (ParamSpec("umap_neighbors", "UMAP neighbours", "int", FROM_ESTIMATOR, 2, 100, 1, advanced=True,
                       help="Neighbourhood size of the manifold: larger keeps more global structure."),
             ParamSpec("umap_min_dist", "UMAP min distance", "choice", FROM_ESTIMATOR,
                       options=(0.0, 0.01, 0.05, 0.1, 0.25), advanced=True,
                       help="0 packs neighbours together, which suits clustering."),) + _SPACE_PARAMS,
        ),
        AlgorithmSpec(
            "spectral", "Spectral clustering", Spectral,
            "Cuts a nearest-neighbour graph where it is thinnest: follows connected, non-convex shapes "
            "that k-means splits. A good choice up to about 10,000 images.",
            (ParamSpec("n_neighbors", "Graph neighbours", "int", FROM_ESTIMATOR, 2, 50, 1,
                       help="Neighbours per image in the affinity graph."),) + _SPACE_PARAMS,
        ),
    ]
}
# The first thing a new user runs shows deep clustering at its best at a reasonable time: N2D measured
# NMI 0.91 on digits (AE + k-means 0.76) in about the same time (docs/benchmarks.md).
DEFAULT_ALGORITHM = "n2d"


def get_algorithm(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise KeyError(f"unknown algorithm {name!r}; available: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[name]
