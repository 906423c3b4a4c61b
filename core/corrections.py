"""Correcting a clustering by hand: merge clusters, split one, move images, name clusters; undo and redo.

A correction is a list of edits replayed over the run's own labels, never a change to them: the run stays
as it was made, and the edits (small, plain data) are what a draft keeps and what a derived run records.
A split re-clusters one cluster's members into k parts with k-means in the space the clustering used,
seeded, so replaying the same edits always gives the same labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from core.metrics import MetricReport
from core.vocabulary import cluster_name

KINDS = ("merge", "split", "move", "rename")
MAX_NAME = 40          # characters of a cluster's name
MAX_PARTS = 10         # a split makes 2 to MAX_PARTS clusters
MAX_EDITS = 500        # edits kept in one correction (undo history included)


class InvalidEdit(ValueError):
    """An edit that cannot apply to the labels as they are (an unknown cluster, an empty move...)."""


@dataclass(frozen=True)
class Edit:
    """One step of a correction.

    merge: `clusters` join the first of them. split: `clusters` is (the cluster,), cut into `parts`.
    move: `rows` go to `clusters[0]`, or to a new cluster when `clusters` is empty. rename: `clusters` is
    (the cluster,), named `name` ("" gives it back its number).
    """

    kind: str
    clusters: tuple = ()
    rows: tuple = ()
    parts: int = 2
    name: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InvalidEdit(f"unknown edit {self.kind!r} (one of {', '.join(KINDS)})")
        object.__setattr__(self, "clusters", tuple(int(c) for c in self.clusters))
        object.__setattr__(self, "rows", tuple(sorted({int(r) for r in self.rows})))
        object.__setattr__(self, "name", " ".join(str(self.name).split())[:MAX_NAME])
        if self.kind == "merge" and len(set(self.clusters)) < 2:
            raise InvalidEdit("a merge needs at least two different clusters")
        if self.kind in ("split", "rename") and len(self.clusters) != 1:
            raise InvalidEdit(f"a {self.kind} applies to one cluster")
        if self.kind == "split" and not 2 <= int(self.parts) <= MAX_PARTS:
            raise InvalidEdit(f"a split makes 2 to {MAX_PARTS} clusters, not {self.parts}")
        if self.kind == "move" and (not self.rows or len(self.clusters) > 1 or min(self.rows) < 0):
            raise InvalidEdit("a move takes one or more images to one cluster (or to a new one)")

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "clusters": list(self.clusters)}
        if self.kind == "move":
            data["rows"] = list(self.rows)
        if self.kind == "split":
            data["parts"] = int(self.parts)
        if self.kind == "rename":
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> "Edit":
        if not isinstance(data, Mapping):
            raise InvalidEdit(f"an edit is a mapping, not {type(data).__name__}")
        try:
            return cls(kind=str(data.get("kind")), clusters=tuple(data.get("clusters") or ()),
                       rows=tuple(data.get("rows") or ()), parts=int(data.get("parts", 2)),
                       name=str(data.get("name", "")))
        except InvalidEdit:
            raise
        except (TypeError, ValueError) as error:
            raise InvalidEdit(f"not an edit: {error}") from error


@dataclass
class Labelling:
    """Labels with the names people gave some clusters ({cluster id: name})."""

    labels: np.ndarray
    names: dict = field(default_factory=dict)

    def name(self, cluster) -> str:
        """A given name, else "cluster 3" / "noise"."""
        return cluster_name(cluster, self.names)


def apply_edit(labelling: Labelling, edit: Edit, space: np.ndarray, *, seed: int = 0) -> Labelling:
    """`labelling` after `edit` (a new object; `labelling` is left as it was). InvalidEdit when the edit does
    not fit these labels."""
    labels, names = labelling.labels.copy(), dict(labelling.names)
    present = set(np.unique(labels).tolist())
    unknown = [c for c in edit.clusters if c not in present]
    if unknown:
        raise InvalidEdit(f"{cluster_name(unknown[0])} holds no images now")
    if edit.kind == "merge":
        target, others = edit.clusters[0], edit.clusters[1:]
        labels[np.isin(labels, others)] = target
        for other in others:
            names.pop(other, None)
    elif edit.kind == "split":
        labels = _split(labels, edit.clusters[0], edit.parts, space, seed)
    elif edit.kind == "move":
        rows = np.asarray(edit.rows, dtype=np.int64)
        if rows.max() >= len(labels):
            raise InvalidEdit(f"image {rows.max()} is not in this run's {len(labels)} images")
        labels[rows] = edit.clusters[0] if edit.clusters else _new_id(labels)
    else:  # rename
        if edit.name:
            names[edit.clusters[0]] = edit.name
        else:
            names.pop(edit.clusters[0], None)
    kept = set(np.unique(labels).tolist())
    return Labelling(labels, {c: n for c, n in names.items() if c in kept})


def _new_id(labels: np.ndarray) -> int:
    return int(max(int(labels.max()), -1) + 1)


def _split(labels: np.ndarray, cluster: int, parts: int, space: np.ndarray, seed: int) -> np.ndarray:
    """`cluster`'s members re-clustered by k-means into `parts` in `space`: the largest part keeps the
    cluster's number, the others take new ones."""
    from sklearn.cluster import KMeans

    members = np.flatnonzero(labels == cluster)
    if len(members) < parts:
        raise InvalidEdit(f"{cluster_name(cluster)} has {len(members)} images: too few to split into {parts}")
    points = np.asarray(space, dtype=np.float64).reshape(len(space), -1)[members]
    found = KMeans(n_clusters=parts, n_init=10, random_state=seed).fit_predict(points)
    order = np.argsort(-np.bincount(found, minlength=parts), kind="stable")
    labels = labels.copy()
    next_id = _new_id(labels)
    for rank, part in enumerate(order):
        if rank > 0:
            labels[members[found == part]] = next_id
            next_id += 1
    return labels


def describe(edit: Edit, names: Optional[Mapping] = None) -> str:
    """"Merged cluster 4 into cluster 1": an edit in words, with the names the clusters had before it."""
    def name(c):
        return cluster_name(c, names)

    if edit.kind == "merge":
        return f"Merged {', '.join(name(c) for c in edit.clusters[1:])} into {name(edit.clusters[0])}"
    if edit.kind == "split":
        return f"Split {name(edit.clusters[0])} into {edit.parts}"
    if edit.kind == "move":
        target = name(edit.clusters[0]) if edit.clusters else "a new cluster"
        return f"Moved {len(edit.rows)} image{'s' if len(edit.rows) != 1 else ''} to {target}"
    if edit.name:
        return f"Named {name(edit.clusters[0])} \"{edit.name}\""
    return f"Took the name off {name(edit.clusters[0])}"


class Correction:
    """The edits made to one run's labels, with undo and redo.

    `edits[:position]` are in force; undo steps `position` back, redo forward, and a new edit drops
    what had been undone.
    """

    def __init__(self, labels: np.ndarray, space: np.ndarray, *, seed: int = 0):
        self.original = Labelling(np.asarray(labels).copy())
        self.space = space
        self.seed = seed
        self.edits: list[Edit] = []   # made with do(), each checked against the labels it applies to
        self.position = 0
        self._states = [self.original]

    def _state(self, step: int) -> Labelling:
        """The labels after the first `step` edits (each state is kept, so undo and redo cost nothing)."""
        while len(self._states) <= step:
            edit = self.edits[len(self._states) - 1]
            self._states.append(apply_edit(self._states[-1], edit, self.space, seed=self.seed))
        return self._states[step]

    @property
    def current(self) -> Labelling:
        return self._state(self.position)

    @property
    def changed(self) -> bool:
        return self.position > 0

    def do(self, edit: Edit) -> Labelling:
        """Apply `edit` to the current labels (InvalidEdit, with nothing changed, when it does not fit)."""
        after = apply_edit(self.current, edit, self.space, seed=self.seed)
        if self.position >= MAX_EDITS:
            raise InvalidEdit(f"a correction holds at most {MAX_EDITS} edits: save it as a run and go on there")
        del self.edits[self.position:]
        del self._states[self.position + 1:]
        self.edits.append(edit)
        self._states.append(after)
        self.position += 1
        return after

    def undo(self) -> None:
        self.position = max(0, self.position - 1)

    def redo(self) -> None:
        self.position = min(len(self.edits), self.position + 1)

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.edits)

    def history(self) -> list[tuple[str, bool]]:
        """Every edit in words (with the names the clusters had then), and whether it is in force (False:
        undone; redo brings it back)."""
        return [(describe(edit, self._state(i).names), i < self.position) for i, edit in enumerate(self.edits)]

    def to_dict(self) -> dict:
        return {"edits": [e.to_dict() for e in self.edits], "position": self.position, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Mapping, labels: np.ndarray, space: np.ndarray) -> "Correction":
        """A correction saved by :meth:`to_dict`; edits that no longer fit are dropped (InvalidEdit only for
        a malformed record)."""
        edits = [Edit.from_dict(e) for e in list(data.get("edits") or [])[:MAX_EDITS]]
        correction = cls(labels, space, seed=int(data.get("seed", 0)))
        for edit in edits:
            try:
                correction.do(edit)
            except InvalidEdit:
                continue
        correction.position = max(0, min(int(data.get("position", len(correction.edits))), len(correction.edits)))
        return correction


def score_change(before: MetricReport, after: MetricReport) -> list[tuple[str, Optional[float], Optional[float]]]:
    """(metric, before, after) for every metric, in the usual order: what a correction did to the scores."""
    old, new = before.as_dict(), after.as_dict()
    return [(name, old[name], new[name]) for name in old]
