"""The form that describes one run (dataset, algorithm, parameters), shared by Train and Sweeps."""
from typing import Optional, Sequence

import numpy as np
import streamlit as st

from core.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from core.data import DATASETS, DEFAULT_DATASET, DEFAULT_PREPROCESSING, PREPROCESSING, DatasetUnavailable
from core.experiment import RunConfig, default_n_clusters
from core.viz.images import image_grid
from ui.cache import cached_dataset
from ui.state import TAKEN_N_CLUSTERS

LARGE_DATASET = 5000  # above this many images, offer a sample-size control
DEFAULT_SAMPLE = 10000


def param_widget(p, key: str):
    """The widget for one ParamSpec: a slider, a select-slider for listed numbers, a select box, or a
    number box that may stay empty (None: the algorithm's automatic value)."""
    if p.kind == "optional_float":
        return st.number_input(p.label, min_value=p.low, max_value=p.high, value=p.default, step=p.step,
                               format="%.4f", placeholder="automatic", key=key, help=p.help)
    if p.kind == "choice":
        if all(isinstance(o, float) for o in p.options):
            return st.select_slider(p.label, options=list(p.options), value=p.default, key=key, help=p.help)
        format_option = {True: "Yes", False: "No"}.get if all(isinstance(o, bool) for o in p.options) else \
            (lambda option: "auto" if option is None else str(option))
        return st.selectbox(p.label, list(p.options), index=list(p.options).index(p.default), key=key, help=p.help,
                            format_func=format_option)
    cast = int if p.kind == "int" else float
    return st.slider(p.label, cast(p.low), cast(p.high), cast(p.default), step=cast(p.step), key=key, help=p.help)


def cluster_count_slider(dataset_name: str, data, used: int, prefix: str = "train") -> int:
    """The cluster-count slider; a count taken on the "How many clusters?" page is applied on Train."""
    key = f"{prefix}_n_clusters_{dataset_name}_{data.n_classes}"
    low, high = 2, int(min(50, used))
    taken = st.session_state.pop(TAKEN_N_CLUSTERS, None) if prefix == "train" else None
    if taken is not None and taken[0] == dataset_name:
        st.session_state[key] = int(min(max(taken[1], low), high))
        st.toast(f"Number of clusters set to {st.session_state[key]}.", icon=":material/check:")
    value = {} if key in st.session_state else {"value": int(min(default_n_clusters(data), used))}
    return st.slider("Number of clusters", low, high, key=key,
                     help="Defaults to the number of classes when the dataset has labels; the "
                          "\"How many clusters?\" page suggests one from the data.", **value)


def config_form(prefix: str = "train", *, fixed: Sequence[str] = ()) -> Optional[RunConfig]:
    """Dataset, algorithm and parameter widgets with a preview of the data; returns the configuration
    they describe, or None when the dataset cannot be loaded (after saying why).

    Widget keys start with `prefix`, so two pages keep their own settings. Settings named in `fixed`
    (a sweep's axes) are left out of the form: the caller sets them.
    """
    settings, preview = st.columns([3, 2], gap="large")

    with settings:
        dataset_name = st.selectbox(
            "Dataset", list(DATASETS), index=list(DATASETS).index(DEFAULT_DATASET),
            format_func=lambda name: DATASETS[name].title, key=f"{prefix}_dataset",
        )
        spec = DATASETS[dataset_name]
        dataset_options = {p.name: param_widget(p, f"{prefix}_{dataset_name}_{p.name}") for p in spec.options}
        try:
            with st.spinner(f"Loading {spec.title}..." + (" (downloading on first use)" if spec.needs_download else "")):
                data = cached_dataset(dataset_name, tuple(sorted(dataset_options.items())))
        except DatasetUnavailable as error:
            st.error(str(error), icon=":material/cloud_off:")
            return None

    with preview:
        h, w, c = data.image_shape
        st.markdown(f"**{spec.title}**")
        st.caption(data.description)
        classes = f", {data.n_classes} classes" if data.has_labels else ", no labels"
        st.markdown(f"{data.n_samples:,} images of {h}x{w}{'' if c == 1 else f'x{c}'}{classes}")
        first = np.random.default_rng(0).choice(data.n_samples, size=min(30, data.n_samples), replace=False)
        st.image(image_grid(data.images[np.sort(first)], n_cols=10, size=40), caption="A few images of the dataset")

    with settings:
        n_samples = None
        if data.n_samples > LARGE_DATASET and "n_samples" not in fixed:
            n_samples = st.slider(
                "Sample size", 1000, data.n_samples, min(DEFAULT_SAMPLE, data.n_samples), step=1000,
                key=f"{prefix}_sample_{dataset_name}",
                help="A stratified subset (same class proportions, fixed seed) keeps training and UMAP fast.",
            )
        used = n_samples or data.n_samples

        algorithm = st.selectbox(
            "Algorithm", list(ALGORITHMS), index=list(ALGORITHMS).index(DEFAULT_ALGORITHM),
            format_func=lambda name: f"{ALGORITHMS[name].family} · {ALGORITHMS[name].title}", key=f"{prefix}_algorithm",
        )
        algo = ALGORITHMS[algorithm]
        st.caption(algo.description)

        n_clusters = None
        if not algo.uses_n_clusters:
            st.caption("The number of clusters is found by the algorithm; points in sparse regions are noise.")
        elif "n_clusters" not in fixed:
            n_clusters = cluster_count_slider(dataset_name, data, used, prefix)

        shown = [p for p in algo.params if p.name not in fixed]
        params = {p.name: param_widget(p, f"{prefix}_{algorithm}_{p.name}") for p in shown if not p.advanced}
        with st.expander("Advanced"):
            params.update({p.name: param_widget(p, f"{prefix}_{algorithm}_{p.name}") for p in shown if p.advanced})
            preprocessing = st.selectbox(
                "Preprocessing", list(PREPROCESSING), index=list(PREPROCESSING).index(DEFAULT_PREPROCESSING),
                format_func=PREPROCESSING.get, key=f"{prefix}_preprocessing",
            )
            seed = 0
            if "seed" not in fixed:
                seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, step=1, key=f"{prefix}_seed",
                                           help="Same seed and settings give the same result."))

    return RunConfig(dataset=dataset_name, algorithm=algorithm, n_clusters=n_clusters, params=params,
                     n_samples=n_samples, preprocessing=preprocessing, seed=seed, dataset_options=dataset_options)
