"""The run store's SQLite schema: each step migrates a store one version forward."""
from __future__ import annotations

# Each entry migrates a store from version i to i + 1. Version 1 was the first release of the store;
# version 2 added tags and sweeps; version 3 a running run's heartbeat and its process's start token; version 4
# hand corrections: a derived run's parent and what was changed, cluster names, and drafts of corrections in
# progress. Never edit a released step: append a new one.
MIGRATIONS = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        dataset TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        ended_at TEXT,
        n_samples INTEGER,
        n_clusters INTEGER,
        history TEXT NOT NULL DEFAULT '[]',
        metrics TEXT,
        timings TEXT NOT NULL DEFAULT '{}',
        versions TEXT NOT NULL DEFAULT '{}',
        estimator_params TEXT NOT NULL DEFAULT '{}',
        host TEXT NOT NULL,
        pid INTEGER NOT NULL
    );
    CREATE INDEX runs_status ON runs(status);
    """,
    """
    ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
    CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        base_config TEXT NOT NULL,
        axes TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX runs_sweep ON runs(sweep_id);
    """,
    """
    ALTER TABLE runs ADD COLUMN heartbeat TEXT;
    ALTER TABLE runs ADD COLUMN process_token TEXT NOT NULL DEFAULT '';
    """,
    """
    ALTER TABLE runs ADD COLUMN parent_id INTEGER;
    ALTER TABLE runs ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE runs ADD COLUMN cluster_names TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE drafts (
        run_id INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
