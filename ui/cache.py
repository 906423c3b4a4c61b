"""Caches shared across sessions. Cached objects are treated as read-only."""
from __future__ import annotations

import threading

import streamlit as st

from core.data import DATASETS, Dataset, load_dataset
from core.runs import RunStore
from ui.worker import TrainingWorker, adopt_prestarted


def cached_dataset(name: str, options: tuple = ()) -> Dataset:
    """A built-in or saved dataset, loaded once per server (a resource: big arrays are shared, not copied).

    `options` are the loader's keyword arguments as sorted (name, value) pairs (hashable for the cache).
    A saved dataset is cached under its creation time too, so one removed and added again under the same
    name is read afresh.
    """
    version = ""
    if name not in DATASETS and name in run_store().datasets:
        version = run_store().datasets.info(name).created_at
    return _cached_dataset(name, options, version)


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_dataset(name: str, options: tuple, version: str) -> Dataset:
    return load_dataset(name, **dict(options))


@st.cache_resource(show_spinner=False)
def run_store() -> RunStore:
    """The server's run store ($DEEP_CLUSTERING_HOME or the user data folder). Opening it marks runs
    left running by a previous server as interrupted."""
    return RunStore()


_workers: dict = {}   # {store folder: TrainingWorker}, for the life of the server process
_workers_lock = threading.Lock()


def training_worker() -> TrainingWorker:
    """The server's training process: the one started with the server (ui.serve), else one started
    with the first page load, so that it is warm by the first click.

    One per store for the life of the server, held here rather than in ``st.cache_resource``: "Clear cache"
    (the menu's, or the message any websocket client can send) empties Streamlit's caches, and a cached
    worker would then be started again beside the one still training (1 -> 4 processes after three clears).
    """
    directory = str(run_store().directory.resolve())
    with _workers_lock:
        worker = _workers.get(directory)
        if worker is None:
            worker = _workers[directory] = adopt_prestarted(directory) or TrainingWorker(directory)
    return worker
