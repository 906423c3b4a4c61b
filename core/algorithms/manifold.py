"""The UMAP-manifold step that N2D and UMAP + GMM share: its parameters, the manifold itself (UMAP to a few
dimensions), and the view of a Gaussian mixture fitted in it."""
from __future__ import annotations

import numpy as np

from core.params import Interval, OneOf, Param
from core.projection import UMAP_SAMPLE_SIZE, umap_embed


def manifold_dim(umap_dim, n_clusters: int, n_samples: int) -> int:
    """The UMAP manifold's dimensions: `umap_dim` (None: `n_clusters`), at most the samples less two."""
    return int(min(umap_dim or n_clusters, max(n_samples - 2, 1)))


def umap_manifold(Z: np.ndarray, n_clusters: int, *, umap_dim, n_neighbors: int, min_dist: float,
                  random_state: int, fit: str = "all") -> np.ndarray:
    """UMAP of `Z` to :func:`manifold_dim` dimensions: the space N2D and UMAP + GMM fit their mixture in
    (fitted on all of `Z` or a sample, as `fit` says: :func:`core.projection.umap_sample_size`)."""
    return umap_embed(Z, manifold_dim(umap_dim, n_clusters, len(Z)), n_neighbors=n_neighbors, min_dist=min_dist,
                      random_state=random_state, fit=fit)


# UMAP's manifold, as N2D and UMAP + GMM build it.
UMAP_PARAMETERS = (
    Param("umap_dim", Interval(int, 1, None, allow_none=True)),
    Param("umap_neighbors", Interval(int, 2, None), "UMAP neighbours", high=100, step=1, advanced=True,
          help="Neighbourhood size of the manifold: larger keeps more global structure."),
    Param("umap_min_dist", Interval(float, 0, 1), "UMAP min distance", options=(0.0, 0.01, 0.05, 0.1, 0.25),
          advanced=True, help="0 packs neighbours together, which suits clustering."),
    Param("umap_fit", OneOf("all", "sample"), "UMAP fitted on", advanced=True,
          help=f"all: every image. sample: a random {UMAP_SAMPLE_SIZE:,} of them, the rest placed by UMAP's "
               "transform; faster on large data, at a cost: on 70,000 real digits 39 s instead of 110 s, and NMI "
               "0.79 instead of 0.86 (bench/scale.py --shortcuts)."),
)


class ManifoldMixtureView:
    """The Model page's view of a Gaussian mixture fitted in a UMAP manifold (N2D, UMAP + GMM): each
    image's confidence only, since the mixture's means live in the manifold and cannot be decoded."""

    def _space_name(self, architecture=None) -> str:
        return "UMAP manifold"

    def view_data(self) -> dict:
        self._check_fitted()
        return {"confidence": self.probabilities_.max(axis=1).astype(np.float32)}
