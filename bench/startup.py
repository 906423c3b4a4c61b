"""Where a person waits in the browser: starting the app, the first paint, a click on Train, a page switch.

    .venv/bin/python bench/startup.py            # needs Chromium at /usr/bin/chromium (or $CHROMIUM)

Starts the README's run command (`bash scripts/run_app.sh`, a second start: the venv is installed) on a
free port with a temporary store, and measures in headless Chromium at 1280x720:

- start: from the command to the first page served (HTTP 200 on the app's address);
- first paint: from the first page served to the Train page's title and Train button drawn;
- click to progress: with the worker warm, from the click on Train (the default N2D on digits) to the
  first progress line with a percentage (then the run is cancelled);
- page switch: on a finished run (k-means on pixels), from a click on Metrics (and on Explore) to its
  first chart drawn.

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


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import choose

    port = free_port()
    env = {**os.environ, "DEEP_CLUSTERING_HOME": tempfile.mkdtemp(prefix="startup-bench-")}
    start = time.perf_counter()
    server = subprocess.Popen(["bash", "scripts/run_app.sh", "--server.port", str(port), "--server.headless", "true"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        served = wait_for(f"http://localhost:{port}/")
        rows.append(("start: command to first page served", served - start, 5.0))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"http://localhost:{port}/")
            expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=60_000)
            rows.append(("first paint: page served to the Train page drawn", time.perf_counter() - served, 2.0))

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
            for name in ("Explore", "Metrics", "Explore", "Metrics"):
                clicked = time.perf_counter()
                page.get_by_role("link", name=name).first.click()
                expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=30_000)
                expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
                rows.append((f"page switch to {name} on a finished run (first chart drawn)",
                             time.perf_counter() - clicked, 0.3))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs")
    print("| step | seconds | target | within |")
    print("|---|---|---|---|")
    for name, seconds, target in rows:
        print(f"| {name} | {seconds:.2f} | <= {target:g} | {'yes' if seconds <= target else 'no'} |")


if __name__ == "__main__":
    main()
