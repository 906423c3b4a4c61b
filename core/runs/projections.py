"""A 2-D projection asked for after a run finished, as a task for the training process.

A run keeps the projection it was trained with (UMAP by default). Explore may later ask for another
one (PCA, or UMAP for a run saved without it): UMAP takes seconds to minutes and compiles on first
use, so it runs where training runs, queued with the runs, with progress and Cancel; never in the web
server. The projection is added to the run's saved arrays, so it is computed once per run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from core.progress import PhaseReporter, ProgressCallback
from core.tasks import RunEmbeddingTask
from core.projection import PROJECTIONS, project_2d, umap_is_warm
from core.runs.database import StoreError

INLINE_PCA_VALUES = 5_000_000  # a PCA of at most this many embedding values takes well under 0.3 s


def computes_inline(method: str, embedding: np.ndarray) -> bool:
    """True when the `method` projection of `embedding` is cheap enough for the web server to compute
    on the spot (a PCA of a small embedding); False when it belongs in the training process."""
    return method == "pca" and int(np.prod(np.shape(embedding))) <= INLINE_PCA_VALUES


@dataclass(frozen=True)
class ProjectionTask(RunEmbeddingTask):
    """Project a run's embedding (:class:`core.tasks.RunEmbeddingTask`) with `method`; `run(store,
    callback)` returns the (n, 2) points and, for a saved run, adds them to its saved arrays."""

    method: str
    random_state: int = 0
    fit: str = "auto"   # what UMAP is fitted on (core.projection.UMAP_FITS)

    @property
    def title(self) -> str:
        return f"the {PROJECTIONS.get(self.method, self.method)} projection{self.of_run}"

    def run(self, store, callback: Optional[ProgressCallback] = None) -> np.ndarray:
        if self.method not in PROJECTIONS:
            raise ValueError(f"unknown projection {self.method!r}; choose one of {', '.join(PROJECTIONS)}.")
        embedding = self.load_embedding(store)
        report = PhaseReporter(callback, "project")
        note = "" if self.method != "umap" or umap_is_warm() else " (first time in this process: compiling)"
        report(f"Projecting {len(embedding):,} points with {PROJECTIONS[self.method]}{note}", 0.0)
        points = project_2d(embedding, self.method, random_state=self.random_state, fit=self.fit)
        if self.run_id is not None:
            try:
                store.add_projection(self.run_id, self.method, points)
            except (StoreError, OSError):
                pass  # a read-only store: the points are still shown, and computed again next time
        report("Projection done", 1.0)
        return points
