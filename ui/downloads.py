"""Download buttons for one run: labels CSV, embedding + projection .npz, trained model, HTML report.

The files are made when the button is clicked (deferred downloads), so showing the buttons costs nothing.
Every download button of the app goes through :func:`download_button`.
"""
from __future__ import annotations

import streamlit as st

from core.experiment import ClusteringResult
from core.runs.export import arrays_npz, cluster_folders_zip, file_stem, labels_csv, model_zip
from ui.cache import run_store
from core.runs import FINISHED
from core.runs.compare import seed_summary
from core.runs.report import html_report


def download_button(where, label: str, data, **options) -> None:
    """``where.download_button(label, data, ...)`` (`where`: ``st``, a column, a container) that fetches its file
    without running the page again.

    A click that reruns the page (Streamlit's default) drops every download button's made-on-click file as the
    rerun starts and registers new ones as it draws them: a second button clicked within that second still holds
    the old file, which the server no longer knows ("Deferred file ... not found"), and nothing arrives.
    """
    where.download_button(label, data, on_click="ignore", **options)


def spread(run_id):
    """The run's scores beside those of the runs that differ from it only in seed (None when there are none)."""
    return None if run_id is None else seed_summary(run_store().list_runs(status=FINISHED), run_id)


def download_buttons(result: ClusteringResult, key: str) -> None:
    stem = file_stem(result)
    store = run_store()
    # buttons as wide as their labels, wrapping onto a second row on a narrow screen (five equal columns cut
    # "Embedding (.npz)" to "Embedding (.n..." at 1280x720)
    row = st.container(horizontal=True, gap="small")
    download_button(row, "Labels (CSV)", lambda: labels_csv(result), file_name=f"{stem}-labels.csv",
                    mime="text/csv", key=f"{key}_csv", icon=":material/table:",
                    help="One row per image: index in the dataset, file name, cluster (-1 = noise), "
                         "confidence where the algorithm gives one, true label.")
    download_button(row, "Embedding (.npz)", lambda: arrays_npz(result), file_name=f"{stem}-embedding.npz",
                    mime="application/octet-stream", key=f"{key}_npz", icon=":material/data_array:",
                    help="embedding, projection_umap / projection_pca, labels and indices, for numpy.load.")
    has_model = result.run_id is not None and (store.run_dir(result.run_id) / "model").is_dir()
    download_button(row, "Trained model (.zip)", (lambda: model_zip(store, result.run_id)) if has_model else b"",
                    file_name=f"{stem}-model.zip", mime="application/zip", key=f"{key}_model",
                    icon=":material/neurology:", disabled=not has_model,
                    help="Keras models (.keras), fitted arrays and parameters, with a README on "
                         "loading them." if has_model else "Only runs saved in the store have a model file.")
    name = None
    if result.run_id is not None:
        try:
            name = store.get(result.run_id).name
        except KeyError:
            pass
    download_button(row, "Report (HTML)", lambda: html_report(result, run_id=result.run_id, name=name,
                                                              spread=spread(result.run_id)).encode(),
                    file_name=f"{stem}-report.html", mime="text/html", key=f"{key}_report",
                    icon=":material/description:", type="primary",
                    help="One self-contained page telling the run's story (what was trained on what, scores and "
                         "their spread over seeds, the loss, the projection, galleries, parameters) with interactive "
                         "charts, to mail or archive; opens offline in any browser.")
    download_button(row, "Images by cluster (.zip)", lambda: cluster_folders_zip(result),
                    file_name=f"{stem}-clusters.zip", mime="application/zip", key=f"{key}_folders",
                    icon=":material/folder_zip:",
                    help="Every image in a folder named after its cluster, under its own file name.")
