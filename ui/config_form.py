"""The form that describes one run (dataset, algorithm, parameters), shared by Train and Sweeps."""
from typing import Optional, Sequence

import numpy as np
import streamlit as st

from core.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from core.algorithms.spaces import BACKBONES
from core.data import (DATASETS, DEFAULT_DATASET, DEFAULT_PREPROCESSING, PREPROCESSING, DatasetUnavailable,
                       InvalidUpload)
from core.data.registry import dataset_label
from core.viz.tables import feature_frame
from core.experiment import RunConfig, check_config, default_n_clusters
from core.runs import StoreError
from core.data.images import image_grid
from core.projection import UMAP_FITS, UMAP_SAMPLE_ABOVE, UMAP_SAMPLE_SIZE
from ui.cache import cached_dataset, run_store
from ui.text import plain
from ui.state import FORM

LARGE_DATASET = 5000  # above this many images, offer a sample-size control
DEFAULT_SAMPLE = 10000
AUTOMATIC = "automatic"  # how a select box shows (and keeps) a parameter's None: the method's automatic value


def remembered(key: str, default, allowed=None) -> None:
    """Give widget `key` its value before the widget is drawn: the one the user last set in this session
    (kept in FORM, which survives page changes, unlike widget state), else `default`.

    `allowed(value)` says whether a remembered value still fits the widget (a range that shrank, an
    option that is gone); one that does not falls back to `default`. Widgets drawn after this take no
    default of their own, so Streamlit never sees two.
    """
    memory = st.session_state[FORM]
    if key in st.session_state and (allowed is None or allowed(st.session_state[key])):
        return
    value = memory.get(key, default)
    st.session_state[key] = value if allowed is None or allowed(value) else default


def keep(key: str):
    """Record widget `key`'s current value in the form memory; returns it. Also each widget's on_change
    callback: callbacks run before the script, so a change the user makes just before leaving the page
    is remembered even when the rerun it started is cut short by the page switch."""
    value = st.session_state.get(key)
    st.session_state[FORM][key] = value
    return value


def param_widget(p, key: str):
    """The widget for one ParamSpec: a slider, a select-slider for listed numbers, a select box, or a
    number box that may stay empty (None: the algorithm's automatic value)."""
    if p.kind == "choice":
        if None in p.options:  # a select box draws None as no choice at all ("Choose an option"): it draws AUTOMATIC
            for place in (st.session_state, st.session_state[FORM]):
                if key in place and place[key] is None:
                    place[key] = AUTOMATIC
        default = AUTOMATIC if p.default is None else p.default
        remembered(key, default, lambda v: v in p.options or (v == AUTOMATIC and None in p.options))
        if all(isinstance(o, float) for o in p.options):
            st.select_slider(p.label, options=list(p.options), key=key, help=p.help, on_change=keep, args=(key,))
        else:
            format_option = {True: "Yes", False: "No"}.get if all(isinstance(o, bool) for o in p.options) else str
            st.selectbox(p.label, [AUTOMATIC if o is None else o for o in p.options], key=key, help=p.help,
                         format_func=format_option, on_change=keep, args=(key,))
        value = keep(key)
        return None if value == AUTOMATIC else value
    cast = float if p.kind in ("float", "optional_float") else int
    low, high = (None if p.low is None else cast(p.low)), (None if p.high is None else cast(p.high))

    def inside(value) -> bool:
        if value is None:
            return p.kind == "optional_float"
        return (low is None or value >= low) and (high is None or value <= high)

    remembered(key, p.default, inside)
    if p.kind == "optional_float":
        st.number_input(p.label, min_value=low, max_value=high, step=p.step, format="%.4f",
                        placeholder="automatic", key=key, help=p.help, on_change=keep, args=(key,))
    else:
        st.slider(p.label, low, high, step=cast(p.step), key=key, help=p.help, on_change=keep, args=(key,))
    return keep(key)


def cluster_count_slider(dataset_name: str, data, used: int, prefix: str = "train") -> int:
    """The cluster-count slider; a count taken on the "How many clusters?" page is applied on Train."""
    key = f"{prefix}_n_clusters_{dataset_name}_{data.n_classes}"
    low, high = 2, int(min(50, used))
    pending = st.session_state[FORM].pop(f"{prefix}_n_clusters_pending", None)
    if pending is not None:
        st.session_state[key] = int(min(max(pending, low), high))
    remembered(key, int(min(max(default_n_clusters(data), low), high)), lambda v: v is not None and low <= v <= high)
    st.slider("Number of clusters", low, high, key=key, on_change=keep, args=(key,),
              help="Defaults to the number of classes when the dataset has labels; the "
                   "\"How many clusters?\" page suggests one from the data.")
    return keep(key)


def load_config_into_form(config: RunConfig, prefix: str = "train") -> None:
    """Set the form's widgets to `config` (a run being analysed, or one to train again); they take these
    values the next time the form is drawn."""
    memory = st.session_state[FORM]
    values = {f"{prefix}_dataset": config.dataset, f"{prefix}_algorithm": config.algorithm,
              f"{prefix}_preprocessing": config.preprocessing, f"{prefix}_seed": int(config.seed),
              f"{prefix}_sample_{config.dataset}": config.n_samples,
              f"{prefix}_mixed_precision": config.mixed_precision,
              f"{prefix}_projection_fit": config.projection_fit}
    values.update({f"{prefix}_{config.dataset}_{name}": value for name, value in config.dataset_options.items()})
    values.update({f"{prefix}_{config.algorithm}_{name}": value for name, value in config.params.items()})
    for key, value in values.items():
        if value is None and key.startswith(f"{prefix}_sample_"):
            continue
        memory[key] = value
        st.session_state.pop(key, None)  # the widget takes the remembered value when next drawn
    if config.n_clusters is not None:
        memory[f"{prefix}_n_clusters_pending"] = int(config.n_clusters)


def algorithm_params(algo, prefix: str, fixed: Sequence[str], *, advanced: bool = False,
                     known: Optional[dict] = None) -> dict:
    """Widgets of `algo`'s main (or advanced) parameters; a parameter that does not apply with the
    values chosen so far (the autoencoder's latent size when clustering pixels) is not shown, and
    is left at its default."""
    values = dict(known or {})
    for p in algo.params:
        if p.name in fixed or p.advanced != advanced:
            continue
        if not p.applies_to({**{q.name: q.default for q in algo.params}, **values}):
            continue
        values[p.name] = param_widget(p, f"{prefix}_{algo.name}_{p.name}")
    return {name: value for name, value in values.items() if name not in (known or {})}


def run_summary(config: RunConfig, n_seeds: int = 1) -> str:
    """What Train will train, in one line of Markdown: "**N2D (autoencoder + UMAP + GMM)** on Digits · 1,797
    images · 10 clusters · 75 epochs · seed 0" ("3 runs, seeds 0 to 2" for a repeat)."""
    algo = ALGORITHMS[config.algorithm]
    parts = [f"**{algo.title}** on {plain(dataset_label(config.dataset))}"]
    try:
        data = cached_dataset(config.dataset, tuple(sorted(config.dataset_options.items())))
        parts.append(f"{config.n_samples or data.n_samples:,} images")
    except (DatasetUnavailable, InvalidUpload, KeyError):
        pass
    if algo.uses_n_clusters and config.n_clusters:
        parts.append(f"{config.n_clusters} clusters")
    if algo.deep and config.params.get("epochs"):
        parts.append(f"{config.params['epochs']} epochs")
    seed = int(config.seed)
    parts.append(f"seed {seed}" if n_seeds <= 1 else f"{n_seeds} runs, seeds {seed} to {seed + n_seeds - 1}")
    return " · ".join(parts)


def config_problem(config: RunConfig) -> str:
    """Why `config` cannot run ("" when it can): the check the worker makes before recording a run, made
    here first so the page says it at once, next to the settings."""
    try:
        check_config(config, cached_dataset(config.dataset, tuple(sorted(config.dataset_options.items()))))
        run_store().check_writable()  # found now, not after training: a result that cannot be saved is lost
    except (ValueError, KeyError, DatasetUnavailable, InvalidUpload, StoreError) as error:
        return str(error.args[0] if isinstance(error, KeyError) and error.args else error)
    return ""


def config_form(prefix: str = "train", *, fixed: Sequence[str] = ()) -> Optional[RunConfig]:
    """Dataset, algorithm and parameter widgets with a preview of the data; returns the configuration
    they describe, or None when the dataset cannot be loaded (after saying why).

    Widget keys start with `prefix`, so two pages keep their own settings. Settings named in `fixed`
    (a sweep's axes) are left out of the form: the caller sets them.
    """
    settings, preview = st.columns([3, 2], gap="large")
    with settings:
        dataset_name, dataset_options, data = _dataset_picker(prefix)
    if data is None:
        return None
    with preview:
        _dataset_preview(dataset_name, data)
    with settings:
        n_samples = _sample_size(prefix, dataset_name, data, fixed)
        algo = _algorithm_picker(prefix)
        n_clusters = None
        if not algo.uses_n_clusters:
            st.caption("The number of clusters is found by the algorithm; points in sparse regions are noise.")
        elif "n_clusters" not in fixed:
            n_clusters = cluster_count_slider(dataset_name, data, n_samples or data.n_samples, prefix)
        params = algorithm_params(algo, prefix, fixed)
        if params.get("space") in BACKBONES:  # a network over every image: say what it costs before the run
            st.caption(BACKBONES[params["space"]].cost_text(n_samples or data.n_samples))
        with st.expander("Advanced"):
            params.update(algorithm_params(algo, prefix, fixed, advanced=True, known=params))
            preprocessing, seed = _preprocessing_and_seed(prefix, fixed)
            mixed_precision = _mixed_precision(prefix, algo, params)
            projection_fit = _projection_fit(prefix)
    return RunConfig(dataset=dataset_name, algorithm=algo.name, n_clusters=n_clusters, params=params,
                     n_samples=n_samples, preprocessing=preprocessing, seed=seed, dataset_options=dataset_options,
                     mixed_precision=mixed_precision, projection_fit=projection_fit)


def _dataset_picker(prefix: str):
    """The dataset box, its options, and the data loaded (None after saying why it cannot be)."""
    names = [*DATASETS, *run_store().datasets.names()]
    remembered(f"{prefix}_dataset", DEFAULT_DATASET, lambda v: v in names)
    dataset_name = st.selectbox("Dataset", names, format_func=dataset_label, key=f"{prefix}_dataset",
                                on_change=keep, args=(f"{prefix}_dataset",),
                                help="The built-in datasets, then yours (add them on the Datasets page).")
    keep(f"{prefix}_dataset")
    st.page_link("pages/datasets.py", label="Add your own images or table", icon=":material/upload_file:")
    spec = DATASETS.get(dataset_name)
    options = [p for p in spec.options if not p.advanced] if spec is not None else ()  # advanced: code and CLI only
    dataset_options = {p.name: param_widget(p, f"{prefix}_{dataset_name}_{p.name}") for p in options}
    download = " (downloading on first use)" if spec is not None and spec.needs_download else ""
    try:
        with st.spinner(f"Loading {dataset_label(dataset_name)}...{download}"):
            data = cached_dataset(dataset_name, tuple(sorted(dataset_options.items())))
    except (DatasetUnavailable, InvalidUpload, KeyError) as error:
        st.error(plain(error.args[0] if isinstance(error, KeyError) else error), icon=":material/cloud_off:")
        return dataset_name, dataset_options, None
    return dataset_name, dataset_options, data


def _dataset_preview(dataset_name: str, data) -> None:
    st.markdown(f"**{plain(dataset_label(dataset_name))}**")
    st.caption(plain(data.description))
    classes = f", {data.n_classes} classes" if data.has_labels else ", no labels"
    if data.is_table:
        st.markdown(f"{data.n_samples:,} rows of {data.features.shape[1]} features{classes}")
        st.dataframe(feature_frame(data).head(8), hide_index=True)
    else:
        h, w, c = data.image_shape
        st.markdown(f"{data.n_samples:,} images of {h}x{w}{'' if c == 1 else f'x{c}'}{classes}")
        first = np.random.default_rng(0).choice(data.n_samples, size=min(30, data.n_samples), replace=False)
        st.image(image_grid(data.images[np.sort(first)], n_cols=10, size=40), caption="A few images of the dataset")


def _sample_size(prefix: str, dataset_name: str, data, fixed: Sequence[str]) -> Optional[int]:
    """A sample-size slider for a large dataset (None: all of it)."""
    if data.n_samples <= LARGE_DATASET or "n_samples" in fixed:
        return None
    key = f"{prefix}_sample_{dataset_name}"
    remembered(key, min(DEFAULT_SAMPLE, data.n_samples), lambda v: v is not None and 1000 <= v <= data.n_samples)
    st.slider("Sample size", 1000, data.n_samples, step=1000, key=key, on_change=keep, args=(key,),
              help="A stratified subset (same class proportions, fixed seed) keeps training and UMAP fast.")
    return keep(key)


def _algorithm_picker(prefix: str):
    remembered(f"{prefix}_algorithm", DEFAULT_ALGORITHM, lambda v: v in ALGORITHMS)
    st.selectbox("Algorithm", list(ALGORITHMS), key=f"{prefix}_algorithm", on_change=keep,
                 args=(f"{prefix}_algorithm",),
                 format_func=lambda name: f"{ALGORITHMS[name].family} · {ALGORITHMS[name].title}")
    algo = ALGORITHMS[keep(f"{prefix}_algorithm")]
    st.caption(algo.description)
    return algo


def _preprocessing_and_seed(prefix: str, fixed: Sequence[str]) -> tuple[str, int]:
    remembered(f"{prefix}_preprocessing", DEFAULT_PREPROCESSING, lambda v: v in PREPROCESSING)
    st.selectbox("Preprocessing", list(PREPROCESSING), format_func=PREPROCESSING.get,
                 key=f"{prefix}_preprocessing", on_change=keep, args=(f"{prefix}_preprocessing",))
    preprocessing = keep(f"{prefix}_preprocessing")
    seed = 0
    if "seed" not in fixed:
        remembered(f"{prefix}_seed", 0, lambda v: isinstance(v, int) and 0 <= v < 2**31)
        st.number_input("Seed", 0, 2**31 - 1, step=1, key=f"{prefix}_seed", on_change=keep, args=(f"{prefix}_seed",),
                        help="Same seed and settings give the same result.")
        seed = int(keep(f"{prefix}_seed"))
    return preprocessing, seed


def _projection_fit(prefix: str) -> str:
    """What the run's 2-D UMAP projection is fitted on (core.projection.UMAP_FITS)."""
    key = f"{prefix}_projection_fit"
    remembered(key, "auto", lambda v: v in UMAP_FITS)
    st.selectbox("Projection fitted on", list(UMAP_FITS), format_func=UMAP_FITS.get, key=key, on_change=keep,
                 args=(key,), help=f"The 2-D UMAP map of the result. auto: all points up to {UMAP_SAMPLE_ABOVE:,}; "
                                   f"above that, a random {UMAP_SAMPLE_SIZE:,}, with the rest placed by UMAP's "
                                   "transform (faster; bench/scale.py prints what it costs).")
    return keep(key)


def _mixed_precision(prefix: str, algo, params: dict) -> bool:
    """The run's mixed-precision switch, drawn for a method that trains a network (False for one that does not)."""
    if params.get("space", "autoencoder" if algo.deep else None) != "autoencoder":
        return False
    key = f"{prefix}_mixed_precision"
    remembered(key, False, lambda v: isinstance(v, bool))
    st.toggle("Mixed precision", key=key, on_change=keep, args=(key,),
              help="Trains the network in 16-bit floats, its weights kept in 32-bit: faster on recent NVIDIA GPUs "
                   "(Volta and later); slower on a CPU, which has no fast 16-bit arithmetic.")
    return bool(keep(key))
