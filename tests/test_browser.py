"""A real browser: `streamlit run` on a free port, Debian's Chromium driven by Playwright.

Trains on digits from the browser, checks that the UMAP chart and a gallery image appear, and saves
a screenshot of every page to tests/artifacts/screenshots/.
"""
import contextlib
import os
import re
import shutil

import pytest

from tests.browser import CHROMIUM, browser_page, choose, serve_app, set_slider, shoot

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with browser_page() as page:
        yield page


@pytest.fixture(scope="module")
def screenshots(artifacts_dir):
    return artifacts_dir / "screenshots"


def test_train_on_digits_then_explore_and_metrics(page, server, screenshots):
    page.goto(server)
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("1,797 images of 8x8")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=60_000)
    shoot(page, screenshots, "1_train")

    set_slider(page, "Epochs", 15)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Training autoencoder")).to_be_visible(timeout=60_000)
    shoot(page, screenshots, "2_training")
    expect(page.get_by_text("Finished in")).to_be_visible(timeout=240_000)
    shoot(page, screenshots, "3_trained")

    page.get_by_role("link", name="Explore").first.click()
    expect(page.get_by_role("heading", name="Explore", exact=True)).to_be_visible(timeout=30_000)
    scatter = page.locator(".js-plotly-plot").first
    expect(scatter).to_be_visible(timeout=60_000)
    expect(page.get_by_text("The UMAP manifold (10-d), drawn in 2-D by UMAP")).to_be_visible()  # N2D, the default
    expect(page.locator(".dc-gallery img").first).to_be_visible(timeout=30_000)
    assert page.locator(".dc-gallery img").count() >= 8
    shoot(page, screenshots, "4_explore")

    page.get_by_role("link", name="Metrics").first.click()
    expect(page.get_by_role("heading", name="Metrics", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Clusters versus true labels")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid='stMetric']")).to_have_count(6)  # ACC, NMI, ARI, purity, silhouette, UMAP silhouette
    shoot(page, screenshots, "5_metrics")
    assert not page.locator("[data-testid='stException']").count()


def test_pick_and_train_idec_then_its_model_view_and_the_cluster_count_sweep(page, server, screenshots):
    """A second algorithm picked from the list, tuned and trained; its own view; the sweep page."""
    page.get_by_role("link", name="Train").first.click()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=30_000)
    choose(page, "Algorithm", "Deep · IDEC (improved DEC)")
    expect(page.get_by_text("Guo et al. 2017")).to_be_visible(timeout=30_000)
    set_slider(page, "Epochs", 10)
    set_slider(page, "Clustering epochs (at most)", 5)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Finished in .*IDEC"))).to_be_visible(timeout=240_000)

    page.get_by_role("link", name="Model", exact=True).first.click()
    expect(page.get_by_role("heading", name="Model", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("How the clustering phase moved the labels")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Least confident members of cluster 0")).to_be_visible(timeout=30_000)
    shoot(page, screenshots, "6_model_idec")

    page.get_by_role("link", name="How many clusters?").first.click()
    page.get_by_role("button", name="Run the sweep").click()
    expect(page.get_by_text(re.compile(r"^Suggested: \d+ clusters \(highest UMAP silhouette\)\."))).to_be_visible(
        timeout=120_000)
    shoot(page, screenshots, "7_how_many_clusters")
    assert not page.locator("[data-testid='stException']").count()


@contextlib.contextmanager
def fresh_window(page):
    """A new browser window (context) of the module's browser, closed at the end like a closed browser."""
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_sweep_restart_the_server_then_find_compare_and_report(tmp_path, screenshots, page):
    """The issue's walk: three runs with different latent sizes (one sweep), the browser closed and the
    server restarted, then the runs found, compared on one screen, and a report downloaded."""
    store = {"DEEP_CLUSTERING_HOME": str(tmp_path / "store")}
    window = page
    with serve_app(tmp_path / "first.log", env=store) as url, fresh_window(window) as page:
        page.goto(f"{url}/sweeps")
        expect(page.get_by_role("heading", name="Sweeps", exact=True)).to_be_visible(timeout=60_000)
        expect(page.get_by_label("Values of Latent size", exact=True)).to_have_value("5, 10, 20", timeout=30_000)
        set_slider(page, "Epochs", 3)
        expect(page.get_by_text("3 runs of N2D (autoencoder + UMAP + GMM) on digits")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Queue the sweep").click()
        expect(page.get_by_text(re.compile(r"Now: Latent size \d+"))).to_be_visible(timeout=120_000)
        shoot(page, screenshots, "8_sweep_running")
        expect(page.get_by_text("3 of 3 runs done")).to_be_visible(timeout=300_000)
        shoot(page, screenshots, "9_sweep_done")

    # started by hand this time (`streamlit run app.py`): a page's URL as the first visit still gets app.py
    with serve_app(tmp_path / "second.log", env=store, plain_streamlit=True) as url, fresh_window(window) as page:
        page.goto(f"{url}/runs")
        expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("3 of 3 runs.")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Latent size 20 (sweep 1)").first).to_be_visible(timeout=30_000)
        shoot(page, screenshots, "10_runs")
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Report (HTML)").click()
        report = tmp_path / "report.html"
        download.value.save_as(report)
        html = report.read_text()
        assert html.startswith("<!DOCTYPE html>") and "Latent size 20 (sweep 1)" in html and len(html) > 1_000_000

        page.get_by_role("link", name="Compare").first.click()
        expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible(timeout=30_000)
        expect(page.get_by_text("3 runs on digits. Settings that differ: Latent size.")).to_be_visible(timeout=30_000)
        # parallel coordinates, bars, a metric against a metric, the agreement matrix
        expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=60_000)
        page.get_by_text("Show two runs' clusterings side by side").click()
        expect(page.get_by_text("Agreement (ARI between the two labellings)")).to_be_visible(timeout=60_000)
        expect(page.locator(".js-plotly-plot")).to_have_count(7, timeout=60_000)  # two maps and their Sankey
        shoot(page, screenshots, "11_compare")
        assert not page.locator("[data-testid='stException']").count()
