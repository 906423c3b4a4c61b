"""The part of a view a link carries beyond the run: the selection drawn on a projection, and the opened point.

Both live in the URL (``?sel=lasso:umap:x,y;...`` and ``?point=17``), so a copied link opens the same
images; and in the session, per run, so leaving the page and coming back (which drops the query string)
finds them again. A selection travels as the shape drawn, never as thousands of row numbers.
"""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core.selection import InvalidSelection, Selection

SELECTION_PARAM = "sel"
POINT_PARAM = "point"
_SELECTIONS = "view_selections"   # {run key: Selection}
_POINTS = "view_points"           # {run key: row}
_REJECTED = "view_rejected"       # the last unreadable ?sel= text, said once


def _run_key(result) -> object:
    return result.run_id if result.run_id is not None else id(result)


def _kept(name: str) -> dict:
    return st.session_state.setdefault(name, {})


def current_selection(result) -> Optional[Selection]:
    """The selection on `result`: the URL's when it names one (a link, a refresh), else this session's."""
    text = st.query_params.get(SELECTION_PARAM)
    kept = _kept(_SELECTIONS)
    if text:
        try:
            kept[_run_key(result)] = Selection.from_text(text)
        except InvalidSelection as error:
            st.session_state[_REJECTED] = f"The link's selection was left out: {error}."
            del st.query_params[SELECTION_PARAM]
    selection = kept.get(_run_key(result))
    if selection is not None and not text:
        st.query_params[SELECTION_PARAM] = selection.to_text()
    return selection


def rejected_selection_note() -> Optional[str]:
    """Why a link's selection could not be read, once (None when it could)."""
    return st.session_state.pop(_REJECTED, None)


def set_selection(result, selection: Optional[Selection]) -> None:
    kept = _kept(_SELECTIONS)
    if selection is None:
        kept.pop(_run_key(result), None)
        if SELECTION_PARAM in st.query_params:
            del st.query_params[SELECTION_PARAM]
    else:
        kept[_run_key(result)] = selection
        st.query_params[SELECTION_PARAM] = selection.to_text()


def opened_point(result) -> Optional[int]:
    """The row opened on `result` (the URL's, else this session's), or None; a row that is not in the
    run's data is dropped."""
    text = st.query_params.get(POINT_PARAM)
    kept = _kept(_POINTS)
    if text:
        try:
            kept[_run_key(result)] = int(text)
        except ValueError:
            del st.query_params[POINT_PARAM]
    row = kept.get(_run_key(result))
    if row is not None and not 0 <= row < len(result.labels):
        open_point(result, None)
        return None
    if row is not None and not text:
        st.query_params[POINT_PARAM] = str(row)
    return row


def open_point(result, row: Optional[int]) -> None:
    kept = _kept(_POINTS)
    if row is None:
        kept.pop(_run_key(result), None)
        if POINT_PARAM in st.query_params:
            del st.query_params[POINT_PARAM]
    else:
        kept[_run_key(result)] = int(row)
        st.query_params[POINT_PARAM] = str(int(row))
