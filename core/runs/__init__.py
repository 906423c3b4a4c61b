"""The run store and everything built on it: recording runs, sweeps, comparison and export."""
from core.runs.status import CANCELLED, FAILED, FINISHED, INTERRUPTED, QUEUED, RUNNING, STATUSES
from core.runs.store import (STORE_ENV, RunNotFound, RunRecord, RunStore, StoreError, SweepRecord, default_store_dir)

__all__ = ["CANCELLED", "FAILED", "FINISHED", "INTERRUPTED", "QUEUED", "RUNNING", "STATUSES", "STORE_ENV", "RunNotFound",
           "RunRecord", "RunStore", "StoreError", "SweepRecord", "default_store_dir"]
