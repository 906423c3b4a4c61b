"""Work the web server hands to the training process besides runs: the cluster-count scan and a
projection computed after a run finished. Each is a frozen dataclass with a ``title`` and
``run(store, callback)``; the worker runs it in the queue with the runs, and its result crosses back as it is."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True, kw_only=True)
class RunEmbeddingTask:
    """A task on the embedding of finished run `run_id`, read from the store in the training process, or
    on `embedding` itself for a result that was never saved."""

    run_id: Optional[int] = None
    embedding: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @classmethod
    def on_result(cls, result, **fields):
        """The task on `result`'s run: by its id when it was saved (the embedding is read there), else
        carrying the embedding itself."""
        saved = result.run_id is not None
        return cls(run_id=result.run_id, embedding=None if saved else result.embedding, **fields)

    @property
    def of_run(self) -> str:
        """" of run 4" (empty for a result never saved), for titles."""
        return f" of run {self.run_id}" if self.run_id is not None else ""

    def load_embedding(self, store) -> np.ndarray:
        if self.embedding is not None:
            return self.embedding
        return store.embedding(self.run_id)
