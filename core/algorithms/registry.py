"""Every algorithm the app offers, by name, with the tunable parameters the UI shows for it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from core.algorithms.autoencoder import AutoencoderGMM, AutoencoderKMeans
from core.algorithms.base import ClusteringAlgorithm
from core.algorithms.classical import PixelKMeans
from core.params import ParamSpec


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    title: str
    estimator: type
    description: str
    params: Sequence[ParamSpec] = field(default_factory=tuple)
    deep: bool = False

    def build(self, n_clusters: int, **params) -> ClusteringAlgorithm:
        """An estimator with `n_clusters` and the given parameters (others at their defaults)."""
        known = {p.name for p in self.params} | {"random_state"}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"{self.title} has no parameter(s) {', '.join(sorted(unknown))}.")
        return self.estimator(n_clusters=n_clusters, **params)



_AUTOENCODER_PARAMS = (
    ParamSpec("latent_dim", "Latent size", "int", 10, 2, 64, 1,
              help="Size of the learned embedding. 10 is the usual choice for 10 classes."),
    ParamSpec("epochs", "Epochs", "int", 75, 1, 300, 1,
              help="Autoencoder training passes over the data. More epochs: lower reconstruction loss, longer wait."),
    ParamSpec("batch_size", "Batch size", "int", 256, 16, 1024, 16, advanced=True,
              help="Images per training step."),
    ParamSpec("learning_rate", "Learning rate", "choice", 1e-3, options=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
              advanced=True, help="Adam's step size. Lower it if the loss diverges."),
    ParamSpec("input_dropout", "Input dropout (denoising)", "float", 0.0, 0.0, 0.5, 0.05, advanced=True,
              help="Fraction of pixels hidden from the encoder while training; 0 trains a plain autoencoder."),
    ParamSpec("restart_every", "Restart Adam every (epochs)", "int", 25, 0, 100, 5, advanced=True,
              help="Warm restarts of the optimiser; they gave better embeddings for clustering. 0: never."),
)

ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in [
        AlgorithmSpec(
            "ae_kmeans", "Autoencoder + k-means", AutoencoderKMeans,
            "Learns a compact embedding with a dense autoencoder, then runs k-means on it. "
            "A good first deep method: simple and quick. Compare it with k-means on pixels on the same data.",
            _AUTOENCODER_PARAMS, deep=True,
        ),
        AlgorithmSpec(
            "ae_gmm", "Autoencoder + GMM", AutoencoderGMM,
            "The same embedding, clustered by a Gaussian mixture: allows elongated clusters of "
            "different sizes and gives each image a membership probability.",
            _AUTOENCODER_PARAMS + (
                ParamSpec("covariance_type", "Covariance", "choice", "full",
                          options=("full", "diag", "tied", "spherical"), advanced=True,
                          help="Shape of each Gaussian: full is most flexible, spherical is k-means-like."),
            ),
            deep=True,
        ),
        AlgorithmSpec(
            "kmeans", "k-means on pixels", PixelKMeans,
            "Classical k-means on the raw pixels, no learning: the baseline the deep methods should beat.",
        ),
    ]
}
DEFAULT_ALGORITHM = "ae_kmeans"


def get_algorithm(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise KeyError(f"unknown algorithm {name!r}; available: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[name]
