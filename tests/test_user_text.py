"""User text (run names, dataset names, file names) is shown as typed: never as Markdown or HTML."""
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.runs import RunStore
from core.runs.report import html_report
from core.runs.runner import record_run
from tests.conftest import ROOT
from ui.text import plain

HOSTILE = "[click me](http://evil.example) **loud** <img src=x onerror=alert(1)> :red[x] $x$"


def test_plain_escapes_every_markdown_sign_and_keeps_the_text():
    import re

    escaped = plain(HOSTILE)
    assert re.sub(r"\\(.)", r"\1", escaped) == HOSTILE
    for sign in "[]()*<>:$":
        assert f"\\{sign}" in escaped


def test_a_hostile_run_name_reaches_the_page_escaped_and_the_report_as_text():
    store = RunStore()
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=4, projection=None), store,
                        name=HOSTILE)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/runs.py").run()
    [picker] = [s for s in at.selectbox if s.label == "Run"]
    picker.set_value(result.run_id).run()
    assert not at.exception, at.exception
    assert plain(HOSTILE) in [s.value for s in at.subheader]
    report = html_report(result, run_id=result.run_id, name=HOSTILE)
    assert "<img src=x" not in report and "&lt;img src=x onerror=alert(1)&gt;" in report
    store.delete(result.run_id)
