"""Caches shared across sessions. Cached objects are treated as read-only."""
from __future__ import annotations

import streamlit as st

from core.data import Dataset, load_dataset
from core.runs import RunStore
from ui.worker import TrainingWorker


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_dataset(name: str, options: tuple = ()) -> Dataset:
    """A registry dataset, loaded once per server (a resource: big arrays are shared, not copied).

    `options` are the loader's keyword arguments as sorted (name, value) pairs (hashable for the cache).
    """
    return load_dataset(name, **dict(options))


@st.cache_resource(show_spinner=False)
def run_store() -> RunStore:
    """The server's run store ($DEEP_CLUSTERING_HOME or the user data folder). Opening it marks runs
    left running by a previous server as interrupted."""
    return RunStore()


@st.cache_resource(show_spinner=False)
def training_worker() -> TrainingWorker:
    """The server's training process, started with the first page load so it is warm by the first click."""
    return TrainingWorker(run_store().directory)
