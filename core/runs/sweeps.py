"""The store's sweeps: a named grid of settings whose runs share its id (core.runs.runner runs them)."""
from __future__ import annotations

import json
from typing import Optional

from core.experiment import RunConfig
from core.runs.database import Database
from core.runs.records import SweepRecord, config_from_dict, config_to_dict, to_json, utc_now


class Sweeps:
    """The sweeps recorded in a store's database (``store.sweeps``)."""

    def __init__(self, database: Database):
        self.database = database

    def create(self, base_config: RunConfig, axes: dict, *, name: Optional[str] = None) -> int:
        """Record a sweep of `base_config` over `axes` ({setting: [values]}); returns its id. Without a
        name it is called after its id and axes ("Sweep 3: latent_dim x seed")."""
        with self.database.connect() as db:
            cursor = db.execute("INSERT INTO sweeps (name, base_config, axes, created_at) VALUES (?, ?, ?, ?)",
                                (name or "", to_json(config_to_dict(base_config)), to_json(axes), utc_now()))
            sweep_id = int(cursor.lastrowid)
            if not name:
                label = " x ".join(axes) or "nothing"
                db.execute("UPDATE sweeps SET name = ? WHERE id = ?", (f"Sweep {sweep_id}: {label}", sweep_id))
        return sweep_id

    def all(self) -> list[SweepRecord]:
        """Every sweep, newest first."""
        with self.database.connect() as db:
            rows = db.execute("SELECT * FROM sweeps ORDER BY id DESC").fetchall()
        return [SweepRecord(row["id"], row["name"], config_from_dict(json.loads(row["base_config"])),
                            json.loads(row["axes"]), row["created_at"]) for row in rows]
