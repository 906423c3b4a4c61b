"""Clustering algorithms behind one estimator-style interface, and their registry."""
from core.algorithms.autoencoder import AutoencoderGMM, AutoencoderKMeans
from core.algorithms.base import ClusteringAlgorithm, DamagedModel
from core.algorithms.classical import (UMAPGMM, Agglomerative, DBSCANClustering, GaussianMixtureClustering,
                                       HDBSCANClustering, PixelKMeans, Spectral)
from core.algorithms.dec import DCEC, DEC, IDEC
from core.algorithms.n2d import N2D
from core.algorithms.som import SelfOrganizingMap
from core.algorithms.vade import VaDE
from core.algorithms.registry import ALGORITHMS, DEFAULT_ALGORITHM, ESTIMATORS, AlgorithmSpec, get_algorithm, load_estimator
from core.params import ParamSpec

__all__ = [
    "ALGORITHMS", "DCEC", "DEC", "DEFAULT_ALGORITHM", "IDEC", "N2D", "Agglomerative", "AlgorithmSpec",
    "AutoencoderGMM", "AutoencoderKMeans", "ClusteringAlgorithm", "DamagedModel", "DBSCANClustering", "GaussianMixtureClustering",
    "HDBSCANClustering", "ParamSpec", "PixelKMeans", "SelfOrganizingMap", "Spectral", "UMAPGMM", "VaDE",
    "ESTIMATORS", "get_algorithm", "load_estimator",
]
