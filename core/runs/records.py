"""What the run store keeps of a run and a sweep (RunRecord, SweepRecord), and how a record's fields are
written as text: a configuration as a dict, JSON for numbers and arrays, clean text, times in UTC."""
from __future__ import annotations

import json
import math
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


MAX_HISTORY = 5_000        # rows of a run's history: a run trains a few hundred epochs per phase at most
MAX_HISTORY_KEYS = 32      # named values in one row (phase, epoch, loss terms, elapsed ...)
MAX_SHORT_TEXT = 200       # a library version, a phase's name, a history row's text
MAX_PARAMS_BYTES = 65_536  # the estimator's parameters as JSON


class InvalidRecord(ValueError):
    """A run's fields that a run made here could never have; the message names the first such field."""


def finished_fields(*, n_samples, n_clusters, history, metrics, timings, versions, estimator_params,
                    started_at=None, ended_at=None) -> dict:
    """The columns a finished run's record stores, checked and written as the database keeps them.

    The one owner of what a finished record may hold: a run finished here (:meth:`RunStore.finish_run`) and
    a run imported from an archive (:meth:`RunStore.add_finished_run`) both go through it, so every page
    and command can read any record the store holds. Times are checked when given (an imported record's
    own), and must be ISO 8601 with a time zone. Raises InvalidRecord naming the first field that is not
    of its kind or beyond its bound.
    """
    for key, count in (("n_samples", n_samples), ("n_clusters", n_clusters)):
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 0 < count < 2**62:
            raise InvalidRecord(f"{key} must be a positive whole number; got {count!r}.")
    try:
        history, timings, versions, metrics, params = (
            json.loads(to_json(value)) for value in (history, timings, versions, metrics, estimator_params))
    except (TypeError, ValueError) as error:
        raise InvalidRecord(f"the run's results cannot be written as a record ({error}).") from None
    if not isinstance(history, list) or len(history) > MAX_HISTORY:
        raise InvalidRecord(f"history must be a list of at most {MAX_HISTORY:,} rows; got "
                            f"{len(history) if isinstance(history, list) else type(history).__name__}.")
    for row in history:
        if not isinstance(row, dict) or len(row) > MAX_HISTORY_KEYS or not all(
                isinstance(k, str) and len(k) <= MAX_SHORT_TEXT and _plain_value(v) for k, v in row.items()):
            raise InvalidRecord("a history row must be a few named numbers or short texts.")
    if not isinstance(timings, dict) or len(timings) > MAX_HISTORY_KEYS or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            for v in timings.values()):
        raise InvalidRecord("timings must be a few named durations in seconds (numbers, at least 0).")
    if not isinstance(versions, dict) or len(versions) > MAX_HISTORY_KEYS or not all(
            isinstance(v, str) and len(v) <= MAX_SHORT_TEXT for v in versions.values()):
        raise InvalidRecord("versions must be a few library names with short version texts.")
    if not isinstance(params, dict) or len(to_json(params)) > MAX_PARAMS_BYTES:
        raise InvalidRecord(f"the estimator's parameters must be a table of at most {MAX_PARAMS_BYTES:,} bytes.")
    try:
        metrics = metric_report_from_record(metrics).to_record()
    except (ValueError, TypeError) as error:
        raise InvalidRecord(f"the scores cannot be read: {error}") from None
    fields = {"n_samples": int(n_samples), "n_clusters": int(n_clusters), "history": to_json(history),
              "metrics": to_json(metrics), "timings": to_json(timings), "versions": to_json(versions),
              "estimator_params": to_json(params)}
    for key, value in (("started_at", started_at), ("ended_at", ended_at)):
        if value is not None:
            fields[key] = _utc_time(key, value)
    return fields


def _plain_value(value) -> bool:
    return value is None or isinstance(value, (bool, int, float)) or (
        isinstance(value, str) and len(value) <= MAX_SHORT_TEXT)


def _utc_time(key: str, value) -> str:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidRecord(f"{key} must be a date and time with its time zone (ISO 8601); got {str(value)[:64]!r}.")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


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
        try:
            return metric_report_from_record(self.metrics).as_dict()
        except (ValueError, TypeError):  # a record stored before records were checked: listed, without scores
            return dict.fromkeys(METRICS)

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
        try:
            if self.timings:
                return run_seconds(self.timings)
            return (datetime.fromisoformat(self.ended_at) - datetime.fromisoformat(self.started_at)).total_seconds()
        except (ValueError, TypeError):  # a record stored before records were checked: listed, without a duration
            return None

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
