"""The run command's head start: the training process started with the server, handed to the first page."""
from ui import serve
from ui.worker import adopt_prestarted, prestart


def test_a_worker_started_with_the_server_is_handed_over_once(tmp_path):
    prestart(tmp_path)
    prestart(tmp_path)  # a second call starts no second process
    worker = adopt_prestarted(tmp_path / "." )  # the same folder, however it is written
    try:
        assert worker is not None and worker.store_dir == str(tmp_path)
        assert adopt_prestarted(tmp_path) is None  # the next page's cache starts its own, as before
    finally:
        worker.close()


def test_without_the_run_command_the_app_does_not_wait():
    serve.wait_for_preload()  # `streamlit run app.py`: nothing was started, so this returns at once
    assert serve._preloading is None
