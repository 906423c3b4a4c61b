"""Loading stored runs into the pages (shared by Runs, Compare and Sweeps)."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core.data import DatasetUnavailable
from core.experiment import ClusteringResult
from core.runs import RunNotFound
from ui.cache import cached_dataset, run_store


def load_run(run_id: int) -> Optional[ClusteringResult]:
    """A finished stored run as a result, or None after saying why it cannot be shown."""
    store = run_store()
    try:
        record = store.get(run_id)
        dataset = cached_dataset(record.dataset, tuple(sorted(record.config.dataset_options.items())))
        return _cached_result(run_id, store, dataset)
    except (RunNotFound, ValueError, DatasetUnavailable) as error:
        st.error(f"Run {run_id} cannot be shown: {error}", icon=":material/error:")
        return None


@st.cache_resource(show_spinner=False, max_entries=8, hash_funcs={"core.runs.store.RunStore": id,
                                                                "core.data.dataset.Dataset": id})
def _cached_result(run_id: int, store, dataset) -> ClusteringResult:
    # A resource, not data: pages add projections to a result in place, and a copy per call would lose them.
    return store.load_result(run_id, dataset)


def forget_run(run_id: Optional[int] = None) -> None:
    """Drop deleted runs from the cache."""
    _cached_result.clear()
