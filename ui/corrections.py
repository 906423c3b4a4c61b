"""A run's hand correction in a session: read from its draft in the store, saved back after every edit, and
kept in step with other tabs (the first to save wins; the other is told and shown the newer edits).

Runs that are not in the store (a result never saved) keep their correction in the session only.
"""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core.corrections import Correction, Edit, InvalidEdit
from core.experiment import ClusteringResult
from core.runs.drafts import DraftConflict
from ui.cache import run_store

_KEPT = "corrections"         # {run key: [Correction, revision]}
_NOTICE = "corrections_notice"  # a message for the next drawing of the page
_SHOWN = "corrections_shown"  # (signature, ClusteringResult): the corrected run last scored


def _key(result: ClusteringResult):
    return result.run_id if result.run_id is not None else id(result)


def _fresh(result: ClusteringResult, draft: Optional[dict]) -> Correction:
    if draft:
        try:
            return Correction.from_dict(draft, result.labels, result.embedding)
        except InvalidEdit:  # a damaged draft: start again rather than lose the run
            pass
    return Correction(result.labels, result.embedding, seed=result.config.seed)


def correction(result: ClusteringResult) -> Correction:
    """This session's correction of `result`, brought up to date with the store's draft (another tab's
    newer edits replace this tab's view of them, with a notice)."""
    kept = st.session_state.setdefault(_KEPT, {})
    entry = kept.get(_key(result))
    if result.run_id is None:
        if entry is None:
            entry = kept[_key(result)] = [_fresh(result, None), 0]
        return entry[0]
    draft, revision = run_store().drafts.get(result.run_id)
    if entry is None or entry[1] != revision:
        if entry is not None:
            st.session_state[_NOTICE] = "Another tab changed this correction: its edits are shown here."
        entry = kept[_key(result)] = [_fresh(result, draft), revision]
    return entry[0]


def _save(result: ClusteringResult, entry: list) -> None:
    if result.run_id is None:
        return
    draft = entry[0].to_dict() if entry[0].edits else None
    try:
        entry[1] = run_store().drafts.save(result.run_id, draft, revision=entry[1])
    except DraftConflict as conflict:
        entry[0], entry[1] = _fresh(result, conflict.draft), conflict.revision
        st.session_state[_NOTICE] = ("Another tab changed this correction first: its edits are shown here, and "
                                     "your last step was not kept. Do it again if you still want it.")


def apply(result: ClusteringResult, edit: Edit) -> None:
    """Do `edit` and keep the draft (a message, and nothing changed, when it does not fit)."""
    entry = st.session_state[_KEPT][_key(result)]
    try:
        entry[0].do(edit)
    except InvalidEdit as error:
        st.session_state[_NOTICE] = f"Not done: {error}."
        return
    _save(result, entry)


def step(result: ClusteringResult, forward: bool) -> None:
    """Undo (or redo) one edit, and keep the draft."""
    entry = st.session_state[_KEPT][_key(result)]
    entry[0].redo() if forward else entry[0].undo()
    _save(result, entry)


def discard(result: ClusteringResult) -> None:
    entry = st.session_state[_KEPT][_key(result)]
    entry[0] = _fresh(result, None)
    _save(result, entry)


def say(message: str) -> None:
    """Tell the user `message` the next time the page is drawn."""
    st.session_state[_NOTICE] = message


def notice() -> Optional[str]:
    """What the last edit or another tab did that the user should know, once."""
    return st.session_state.pop(_NOTICE, None)


def corrected(result: ClusteringResult) -> ClusteringResult:
    """`result` as its correction leaves it (itself when nothing is changed), scored again; kept while the
    correction stays as it is."""
    fix = correction(result)
    if not fix.changed:
        return result
    signature = (_key(result), fix.position, tuple(fix.edits[:fix.position]))
    shown = st.session_state.get(_SHOWN)
    if shown is None or shown[0] != signature:
        labelling = fix.current
        shown = (signature, result.with_labels(labelling.labels, labelling.names))
        st.session_state[_SHOWN] = shown
    return shown[1]


def save_as_run(result: ClusteringResult, name: str = "") -> int:
    """Record the correction as a new run derived from `result`, drop the draft; the new run's id."""
    fix = correction(result)
    shown = corrected(result)
    run_id = run_store().add_derived_run(result.run_id, shown, name=name,
                                         changes=[text for text, done in fix.history() if done])
    discard(result)
    return run_id
