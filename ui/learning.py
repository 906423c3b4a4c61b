"""Watching a network learn, on a page: the live view of a deep run while it trains (Train) and the replay of
its frames afterwards (Train, Model). The frames come from the training process with the progress events
(``job.snapshot().frames``) and are kept with the run (``result.frames``); the figures are
:mod:`core.viz.frames`."""
from __future__ import annotations

import streamlit as st

from core.algorithms import ALGORITHMS
from core.runs import RUNNING
from core.viz.frames import COLOUR_BY, frames_truth, latest_frame_figure, replay_figure
from core.viz.frames import truth_namer
from ui.cache import cached_dataset
from ui.downloads import download_button
from ui.worker import is_task

# How often the live picture is drawn again: slower than the progress line (1 s) and the loss curve (3 s), since
# on 2 cores redrawing charts often slowed the training itself (ui/progress.py, LOSS_POLL_SECONDS).
FRAME_POLL_SECONDS = 5.0
_LIVE_FIGURE = "learning_live_figure"  # (what it shows, the figure): built again only when a frame came


def watches(config) -> bool:
    """Whether a run of `config` trains a network whose frames the live view shows."""
    return not is_task(config) and config.algorithm in ALGORITHMS and ALGORITHMS[config.algorithm].deep


def colouring(key: str, frames) -> str:
    """How the picture is coloured: by the clusters, or by the true labels where the sample has them and the
    toggle (:func:`colour_toggle`, drawn under the picture) says so."""
    if frames_truth(frames) is None:
        return COLOUR_BY[0]
    return st.session_state.get(key) or COLOUR_BY[0]


def colour_toggle(key: str, frames) -> None:
    """Clusters / true labels, under the picture (where the sample has true labels)."""
    if frames_truth(frames) is not None:
        st.segmented_control("Colour by", COLOUR_BY, default=COLOUR_BY[0], key=key, required=True,
                             format_func=lambda option: f"Colour by {option}", label_visibility="collapsed")


def _names_of(config):
    """How the true labels of `config`'s dataset are named in a legend (None without labels or data)."""
    try:
        return truth_namer(cached_dataset(config.dataset, tuple(sorted(config.dataset_options.items()))))
    except Exception:  # the data cannot be loaded here: numbers name the labels
        return None


@st.fragment(run_every=FRAME_POLL_SECONDS)
def live_frames(job) -> None:
    """The newest picture of the running `job`'s sample, drawn again every FRAME_POLL_SECONDS (the figure is
    rebuilt only when a frame came in or the colouring changed)."""
    snap = job.snapshot()
    if snap.status != RUNNING or not watches(job.config):
        return
    if not snap.frames:
        st.caption(":material/scatter_plot: A picture of a sample of the images, as the network embeds them, "
                   "appears here after the first epoch and every few epochs after it.")
        return
    colour = colouring("learning_live_colour", snap.frames)
    shown = (job.id, len(snap.frames), colour)
    kept = st.session_state.get(_LIVE_FIGURE)
    if kept is None or kept[0] != shown:
        kept = (shown, latest_frame_figure(snap.frames, colour_by=colour, truth_name=_names_of(job.config)))
        st.session_state[_LIVE_FIGURE] = kept
    st.plotly_chart(kept[1], key="learning_live_chart")
    colour_toggle("learning_live_colour", snap.frames)
    st.caption(sample_caption(snap.frames, live=True))


def sample_caption(frames, *, live: bool = False) -> str:
    """What the picture is, in two sentences."""
    size = len(frames[0].sample) if frames and frames[0].sample is not None else 0
    where = "now" if live else "at each frame"
    return (f"{size:,} images of the run, always the same ones, as the network embeds them {where}, drawn in 2-D "
            "by PCA (turned to follow the frame before). Colours: a k-means of the sample while the autoencoder "
            "pretrains, the model's own clusters in its clustering phase"
            + ("." if live else ", the run's clusters at the end (matched from frame to frame)."))


def show_replay(frames, config, key: str, dataset=None, title: str = "How the clusters formed") -> None:
    """The frames of a finished run as an animation (slider, Play, Pause), with its colouring and an HTML
    download of it; a line saying why there is none where the run has no frames."""
    if len(frames) < 2:
        if config is not None and watches(config):
            st.caption("This run has no replay: no network trained in it (its autoencoder was reused), or it was "
                       "made before runs kept their frames.")
        return
    colour = colouring(f"{key}_colour", frames)
    # Built once per run and colouring (35 frames: about half a second); the frames are held with it, so that
    # their id, part of the key, cannot pass to another run's
    shown, kept = (id(frames), len(frames), colour, title), st.session_state.get(f"{key}_figure")
    if kept is None or kept[0] != shown:
        names = truth_namer(dataset) if dataset is not None else _names_of(config)
        kept = (shown, replay_figure(frames, colour_by=colour, truth_name=names, title=title), frames)
        st.session_state[f"{key}_figure"] = kept
    figure = kept[1]
    st.plotly_chart(figure, key=f"{key}_chart")
    colour_toggle(f"{key}_colour", frames)
    st.caption(sample_caption(frames) + " **Play** runs the frames from the first; the slider steps through them.")
    stem = f"{config.dataset}-{config.algorithm}-seed{config.seed}" if config is not None else "run"
    download_button(st, "Replay (HTML)", lambda: _replay_html(figure), file_name=f"{stem}-replay.html",
                    mime="text/html", key=f"{key}_download", icon=":material/movie:",
                    help="The replay as one page that plays in any browser, offline.")


def _replay_html(figure) -> bytes:
    return figure.to_html(include_plotlyjs=True, full_html=True, auto_play=False).encode()

