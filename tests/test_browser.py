"""A real browser: `streamlit run` on a free port, Debian's Chromium driven by Playwright.

Trains on digits from the browser, checks that the UMAP chart and a gallery image appear, and saves
a screenshot of every page to tests/artifacts/screenshots/.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError(f"streamlit did not start; see {log.name}")
    yield url
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def shoot(page, artifacts_dir, name):
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # let charts finish their transitions
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def set_slider(page, label: str, value: int):
    """Move a streamlit slider with the keyboard: Home, then Right arrow steps."""
    slider = page.get_by_role("slider", name=label)
    slider.focus()
    slider.press("Home")
    current = int(slider.get_attribute("aria-valuetext"))
    for _ in range(value - current):
        slider.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuetext", str(value))


def test_train_on_digits_then_explore_and_metrics(page, server, artifacts_dir):
    page.goto(server)
    expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("1,797 images of 8x8")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Train")).to_be_enabled(timeout=60_000)
    shoot(page, artifacts_dir, "1_train")

    set_slider(page, "Epochs", 15)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("Training autoencoder")).to_be_visible(timeout=60_000)
    shoot(page, artifacts_dir, "2_training")
    expect(page.get_by_text("Finished in")).to_be_visible(timeout=240_000)
    shoot(page, artifacts_dir, "3_trained")

    page.get_by_role("link", name="Explore").first.click()
    expect(page.get_by_role("heading", name="Explore")).to_be_visible(timeout=30_000)
    scatter = page.locator(".js-plotly-plot").first
    expect(scatter).to_be_visible(timeout=60_000)
    expect(page.get_by_text("UMAP of the 10-d embedding")).to_be_visible()
    expect(page.locator("[data-testid='stImage'] img").first).to_be_visible(timeout=30_000)
    assert page.locator("[data-testid='stImage'] img").count() >= 8
    shoot(page, artifacts_dir, "4_explore")

    page.get_by_role("link", name="Metrics").first.click()
    expect(page.get_by_role("heading", name="Metrics")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Clusters versus true labels")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid='stMetric']")).to_have_count(5)
    shoot(page, artifacts_dir, "5_metrics")
    assert not page.locator("[data-testid='stException']").count()
