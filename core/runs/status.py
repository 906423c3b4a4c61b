"""The statuses of a run, and of a job in the training process: one word each, defined here once.

A run record in the store is ``running`` while its process trains it, then ``finished``, ``cancelled``,
``failed``, or ``interrupted`` (its process stopped without saying how it ended). A job waiting in the
training process's queue is ``queued``: it has no record yet, so the store never holds that word.
"""
from __future__ import annotations

RUNNING, FINISHED, CANCELLED, FAILED, INTERRUPTED = "running", "finished", "cancelled", "failed", "interrupted"
QUEUED = "queued"
STATUSES = (RUNNING, FINISHED, CANCELLED, FAILED, INTERRUPTED)  # those a record in the store can have
