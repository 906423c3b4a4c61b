"""Clustering algorithms behind one estimator-style interface, and their registry."""
from core.algorithms.autoencoder import AutoencoderGMM, AutoencoderKMeans
from core.algorithms.base import ClusteringAlgorithm
from core.algorithms.classical import PixelKMeans
from core.algorithms.registry import ALGORITHMS, DEFAULT_ALGORITHM, AlgorithmSpec, get_algorithm
from core.params import ParamSpec

__all__ = [
    "ALGORITHMS", "DEFAULT_ALGORITHM", "AlgorithmSpec", "AutoencoderGMM", "AutoencoderKMeans",
    "ClusteringAlgorithm", "ParamSpec", "PixelKMeans", "get_algorithm",
]
