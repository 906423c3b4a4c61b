"""Where a person waits in the browser: starting the app, the first paint, a click on Train, a page switch.

    .venv/bin/python bench/startup.py            # needs Chromium at /usr/bin/chromium (or $CHROMIUM)

Starts the README's run command (`bash scripts/run_app.sh`, a second start: the venv is installed) on a
free port with a temporary store, and measures in headless Chromium at 1280x720:

- start: from the command to the first page served (HTTP 200 on the app's address);
- first paint: from the first page served to the Train page's title and Train button drawn, in a browser
  launched before the server starts that opens the page at once (the worst case: the server is still
  starting its training process and importing the first page's modules), and in a new tab 8 s later;
- click to progress: with the worker warm, from the click on Train (the default N2D on digits) to the
  first progress line with a percentage (then the run is cancelled);
- page switch: on a finished run (k-means on pixels), 2 s after its result line appeared (a person
  reading it), from a click on Metrics (and on Explore) to its first chart drawn.

The peer, measured in the same run and browser: a bare two-page Streamlit app whose pages are a title
and one Plotly scatter of as many points as digits; its page switch is the floor this app stands on.

Runs in CI? No: by hand. Prints one line per figure with the issue's target.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter()
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f} s")


def launch_browser(playwright):
    """Headless Chromium (Debian's, or $CHROMIUM) and a 1280x720 page in it."""
    browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                         args=["--headless", "--no-sandbox", "--disable-gpu"])
    return browser, browser.new_page(viewport={"width": 1280, "height": 720})


def start_app(port: int, home: str) -> subprocess.Popen:
    """The README's run command on `port`, with the run store in `home`, its output discarded."""
    env = {**os.environ, "DEEP_CLUSTERING_HOME": home}
    return subprocess.Popen(["bash", "scripts/run_app.sh", "--server.port", str(port), "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


PEER_PAGE = """import numpy as np
import plotly.express as px
import streamlit as st

st.title("{title}")
st.plotly_chart(px.scatter(x=np.random.rand(1797), y=np.random.rand(1797)))
"""
PEER_APP = """import streamlit as st

st.navigation([st.Page("pages/alpha.py", title="Alpha", default=True), st.Page("pages/beta.py", title="Beta")]).run()
"""


def peer_switch_seconds(browser, switches: int = 4) -> list[float]:
    """The peer: the smallest Streamlit app of two pages, each a title and one Plotly scatter of 1,797
    points, served the same way; seconds from a click on the other page's link to its chart drawn."""
    from playwright.sync_api import expect

    folder = Path(tempfile.mkdtemp(prefix="startup-peer-"))
    (folder / "pages").mkdir()
    (folder / "app.py").write_text(PEER_APP)
    for title in ("Alpha", "Beta"):
        (folder / "pages" / f"{title.lower()}.py").write_text(PEER_PAGE.format(title=title))
    port = free_port()
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=folder, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    seconds = []
    try:
        wait_for(f"http://localhost:{port}/")
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"http://localhost:{port}/")
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        for i in range(switches):
            name = ("Beta", "Alpha")[i % 2]
            page.wait_for_timeout(1_000)
            clicked = time.perf_counter()
            page.get_by_role("link", name=name).first.click()
            expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=30_000)
            expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
            seconds.append(time.perf_counter() - clicked)
        page.close()
    finally:
        server.terminate()
        server.wait(10)
    return seconds


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import choose

    port = free_port()
    rows = []
    with sync_playwright() as p:
        # The browser is up before the server starts: its own launch is not the app's time.
        browser, page = launch_browser(p)
        start = time.perf_counter()
        server = start_app(port, tempfile.mkdtemp(prefix="startup-bench-"))
        try:
            served = wait_for(f"http://localhost:{port}/")
            rows.append(("start: command to first page served", served - start, 5.0))
            page.goto(f"http://localhost:{port}/")
            expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=60_000)
            rows.append(("first paint: page served to the Train page drawn, browser opened at once",
                         time.perf_counter() - served, 2.0))
            page.wait_for_timeout(8_000)  # a person reading the page: the server settles
            later = browser.new_page(viewport={"width": 1280, "height": 720})
            opened = time.perf_counter()
            later.goto(f"http://localhost:{port}/")
            expect(later.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=60_000)
            rows.append(("first paint: a new tab to the Train page drawn, 8 s after the start",
                         time.perf_counter() - opened, 2.0))
            later.close()

            expect(page.get_by_text("Starting the training process")).to_have_count(0, timeout=120_000)
            page.wait_for_timeout(20_000)  # the worker imports TensorFlow and compiles UMAP once
            clicked = time.perf_counter()
            page.get_by_role("button", name="Train", exact=True).click()
            expect(page.get_by_text(re.compile(r"\d+% · "))).to_be_visible(timeout=60_000)
            rows.append(("click on Train to the first progress line (warm worker)", time.perf_counter() - clicked, 1.0))
            page.get_by_role("button", name="Cancel").click()
            expect(page.get_by_text("Training cancelled")).to_be_visible(timeout=60_000)

            choose(page, "Algorithm", "Classical · k-means on pixels")
            page.get_by_role("button", name="Train", exact=True).click()
            expect(page.get_by_text("Finished in")).to_be_visible(timeout=120_000)
            page.wait_for_timeout(2_000)  # a person reads the result's line before moving on
            for name in ("Explore", "Metrics", "Explore", "Metrics"):
                clicked = time.perf_counter()
                page.get_by_role("link", name=name).first.click()
                expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=30_000)
                expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
                rows.append((f"page switch to {name} on a finished run (first chart drawn)",
                             time.perf_counter() - clicked, 0.3))
                page.wait_for_timeout(1_000)
        finally:
            server.terminate()
            server.wait(10)
        peer = peer_switch_seconds(browser)
        rows.append(("peer: page switch in a bare two-page Streamlit app with one Plotly scatter (median of "
                     f"{len(peer)})", sorted(peer)[len(peer) // 2], 0.3))
        browser.close()
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs")
    print("| step | seconds | target | within |")
    print("|---|---|---|---|")
    for name, seconds, target in rows:
        print(f"| {name} | {seconds:.2f} | <= {target:g} | {'yes' if seconds <= target else 'no'} |")


if __name__ == "__main__":
    main()
