"""The run store and everything built on it: recording runs, sweeps, comparison and export."""
from core.runs.store import (CANCELLED, FAILED, FINISHED, INTERRUPTED, RUNNING, STATUSES, STORE_ENV,
                             RunNotFound, RunRecord, RunStore, StoreError, SweepRecord, default_store_dir)

__all__ = ["CANCELLED", "FAILED", "FINISHED", "INTERRUPTED", "RUNNING", "STATUSES", "STORE_ENV", "RunNotFound",
           "RunRecord", "RunStore", "StoreError", "SweepRecord", "default_store_dir"]
