"""Helpers for pages driven with Streamlit's AppTest."""


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
