"""Helpers for pages driven with Streamlit's AppTest."""
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 120  # seconds a page's script, or a short training, may take


def new_app() -> AppTest:
    """A new session of the app (a new tab), its first page drawn without an exception."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page says in text elements, in one string."""
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "success", "warning", "error")
                    for e in at.get(kind))



def run_scan(at, timeout: float = 180):
    """Press "Run the sweep" on How many clusters? and wait for the scan, which runs in the training
    process; then redraw. In the app a fragment polls it; fragments do not run in AppTest. Returns the job."""
    at.button(key="sweep_run").click().run()
    assert not at.exception, at.exception
    _, job = at.session_state["cluster_scan_job"]
    assert job.wait(timeout) and job.status == "finished", job.error
    at.run()
    assert not at.exception, at.exception
    return job
