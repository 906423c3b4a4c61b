"""Corrections in progress, kept in the store so a refresh or a second tab finds them (``store.drafts``).

A draft is a run's correction (core.corrections.Correction.to_dict) and a revision number. Saving names
the revision it was read at: when another tab saved in between, nothing is overwritten and DraftConflict
hands back the newer draft, which that tab then shows (the first save wins; the other tab is told).
"""
from __future__ import annotations

import json
from typing import Optional

from core.runs.database import Database
from core.runs.records import to_json, utc_now

MAX_DRAFT_BYTES = 2_000_000   # a draft of 500 edits moving thousands of images stays far below this


class DraftConflict(RuntimeError):
    """Another tab or process saved this run's draft since it was read: `draft` and `revision` are theirs."""

    def __init__(self, draft: Optional[dict], revision: int):
        super().__init__("another tab changed this correction since it was opened here")
        self.draft, self.revision = draft, revision


def _read(row) -> tuple[Optional[dict], int]:
    """(draft, revision) of a drafts row; a dropped draft ("") or a damaged one reads as no draft, replaced by
    the next save."""
    if row is None:
        return None, 0
    try:
        return (json.loads(row["body"]) if row["body"] else None), int(row["revision"])
    except ValueError:
        return None, int(row["revision"])


class Drafts:
    """The drafts recorded in a store's database."""

    def __init__(self, database: Database):
        self.database = database

    def get(self, run_id: int) -> tuple[Optional[dict], int]:
        """(draft, revision) of run `run_id`; (None, 0) when it has none."""
        with self.database.connect() as db:
            row = db.execute("SELECT body, revision FROM drafts WHERE run_id = ?", (int(run_id),)).fetchone()
        return _read(row)

    def save(self, run_id: int, draft: Optional[dict], *, revision: int) -> int:
        """Store `draft` (None: drop it) for run `run_id` if the stored one is still at `revision`; returns the
        new revision. DraftConflict, with nothing written, when another writer got there first."""
        body = to_json(draft) if draft is not None else ""
        if len(body) > MAX_DRAFT_BYTES:
            raise ValueError(f"this correction is too large to keep as a draft ({len(body):,} bytes): save it as a run.")
        with self.database.connect() as db:
            db.execute("BEGIN IMMEDIATE")  # read and write as one: two tabs saving at once cannot both win
            row = db.execute("SELECT body, revision FROM drafts WHERE run_id = ?", (int(run_id),)).fetchone()
            theirs, stored = _read(row)
            if stored != revision:
                raise DraftConflict(theirs, stored)
            db.execute("INSERT INTO drafts (run_id, body, revision, updated_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(run_id) DO UPDATE SET body = excluded.body, revision = excluded.revision, "
                       "updated_at = excluded.updated_at", (int(run_id), body, stored + 1, utc_now()))
        return stored + 1
