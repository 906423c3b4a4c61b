"""What the run store keeps of a run and a sweep (RunRecord, SweepRecord), and how a record's fields are
written as text: a configuration as a dict, JSON for numbers and arrays, clean text, times in UTC."""
from __future__ import annotations

import json
import sqlite3
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Optional

import numpy as np

from core.algorithms.registry import ALGORITHMS
from core.experiment import RunConfig
from core.metrics import METRICS, metric_report_from_record
from core.runs.liveness import safe_host  # noqa: F401  (importers of records keep it)
from core.vocabulary import embedding_space, run_seconds

def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def to_json(value) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run record")


def config_to_dict(config: RunConfig) -> dict:
    return json.loads(to_json(asdict(config)))


def config_from_dict(data: dict) -> RunConfig:
    """A RunConfig from its stored form; unknown keys (from a newer version) are ignored."""
    known = set(RunConfig.__dataclass_fields__)
    data = {k: v for k, v in data.items() if k in known}
    if data.get("algorithm") in ALGORITHMS and isinstance(data.get("params"), dict):  # earlier spellings of values
        data["params"] = ALGORITHMS[data["algorithm"]].estimator.upgrade_params(data["params"])
    # JSON has no tuples; parameters such as hidden_units come back as lists, which the estimators accept.
    return RunConfig(**data)


def clean_text(text: str) -> str:
    """`text` without control and format characters (terminal escapes, bidi overrides, newlines)."""
    return "".join(ch for ch in str(text) if unicodedata.category(ch)[0] != "C")


@dataclass
class RunRecord:
    """One run as stored: what was asked, what happened, and the scores (no arrays: see artifacts)."""

    id: int
    name: str
    dataset: str
    algorithm: str
    config: RunConfig
    status: str
    message: str
    started_at: str
    ended_at: Optional[str]
    n_samples: Optional[int]
    n_clusters: Optional[int]
    history: list
    metrics: Optional[dict]       # MetricReport.to_record(); None until finished
    timings: dict
    versions: dict
    estimator_params: dict
    tags: list = field(default_factory=list)
    sweep_id: Optional[int] = None
    host: str = ""
    pid: int = 0
    heartbeat: Optional[str] = None
    parent_id: Optional[int] = None   # the run this one was corrected from (hand corrections), if any
    changes: list = field(default_factory=list)        # what the correction did, in words
    cluster_names: dict = field(default_factory=dict)  # {cluster id: name} given by a person

    @property
    def scores(self) -> dict:
        """Flat metric name -> value (None where undefined or not finished)."""
        if not self.metrics:
            return dict.fromkeys(METRICS)
        return metric_report_from_record(self.metrics).as_dict()

    @property
    def silhouette_space(self) -> str:
        """Where the silhouette was computed (inferred from the settings for records made before it was kept)."""
        recorded = ((self.metrics or {}).get("silhouette") or {}).get("space")
        return recorded or embedding_space(self.algorithm, self.config.params)

    @property
    def duration(self) -> Optional[float]:
        """Seconds the run took (None while running): its timed phases, else wall-clock start to end."""
        if not self.ended_at:
            return None
        if self.timings:
            return run_seconds(self.timings)
        return (datetime.fromisoformat(self.ended_at) - datetime.fromisoformat(self.started_at)).total_seconds()

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> "RunRecord":
        return cls(
            id=row["id"], name=row["name"], dataset=row["dataset"], algorithm=row["algorithm"],
            config=config_from_dict(json.loads(row["config"])), status=row["status"], message=row["message"],
            started_at=row["started_at"], ended_at=row["ended_at"], n_samples=row["n_samples"],
            n_clusters=row["n_clusters"], history=json.loads(row["history"]),
            metrics=json.loads(row["metrics"]) if row["metrics"] else None, timings=json.loads(row["timings"]),
            versions=json.loads(row["versions"]), estimator_params=json.loads(row["estimator_params"]),
            tags=json.loads(row["tags"]), sweep_id=row["sweep_id"], host=row["host"], pid=row["pid"],
            heartbeat=row["heartbeat"], parent_id=row["parent_id"], changes=json.loads(row["changes"]),
            cluster_names={int(k): str(v) for k, v in json.loads(row["cluster_names"]).items()},
        )


@dataclass
class SweepRecord:
    id: int
    name: str
    base_config: RunConfig
    axes: dict
    created_at: str
