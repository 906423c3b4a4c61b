"""Regenerate docs/screenshots/present_1280x720.png, present_1920x1080.png and explore_1280x720.png: train
autoencoder + k-means on digits (60 epochs, so the optimiser restarts twice), name by hand the clusters that
are mostly one digit (a derived run, as Explore's "Correct the clusters" saves it), and capture the
presenter's page on a laptop's screen and a projector's, and Explore on the laptop's. About two minutes.

    .venv/bin/python docs/make_present_screenshots.py
"""
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from tests.browser import ROOT, browser_page, serve_app, settle  # noqa: E402

WORDS = ["zeros", "ones", "twos", "threes", "fours", "fives", "sixes", "sevens", "eights", "nines"]
OUT = ROOT / "docs" / "screenshots"


def named_run(store) -> int:
    """The id of a run whose clusters that are mostly one digit carry that digit's name."""
    from core.experiment import RunConfig
    from core.runs.runner import record_run

    result = record_run(RunConfig(dataset="digits", algorithm="ae_kmeans", params={"epochs": 60}), store)
    names = {}
    for cluster in np.unique(result.labels):
        labels = result.dataset.labels[result.labels == cluster]
        top = int(np.bincount(labels).argmax())
        if np.mean(labels == top) > 0.8:
            names[int(cluster)] = WORDS[top]
    return store.add_derived_run(result.run_id, result.with_labels(result.labels, cluster_names=names),
                                 changes=["named the clusters that are mostly one digit"],
                                 name="Handwritten digits, autoencoder + k-means")


def shot(page, url: str, name: str) -> None:
    page.goto(url)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=120_000)
    settle(page)
    page.wait_for_timeout(1500)  # charts finish their transitions
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"saved docs/screenshots/{name}.png")


def main() -> None:
    from core.runs import RunStore

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        run_id = named_run(RunStore(Path(tmp) / "store"))
        with serve_app(Path(tmp) / "streamlit.log", env={"DEEP_CLUSTERING_HOME": str(Path(tmp) / "store")}) as url, \
                browser_page(1280, 720) as page:
            shot(page, f"{url}/present?run={run_id}", "present_1280x720")
            shot(page, f"{url}/explore?run={run_id}", "explore_1280x720")
            page.set_viewport_size({"width": 1920, "height": 1080})
            shot(page, f"{url}/present?run={run_id}", "present_1920x1080")


if __name__ == "__main__":
    main()
