"""Who may use the server: localhost by default, a password before any page when one is set, and nothing
beyond localhost without one."""
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui.access import PASSWORD_ENV, is_loopback


def test_loopback_addresses():
    assert all(is_loopback(a) for a in ("localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(a) for a in (None, "", "0.0.0.0", "::", "192.168.1.5", "myhost.lan"))


def test_the_shipped_config_listens_on_localhost_with_the_safe_options():
    import tomllib

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = settings["server"]
    assert server["address"] == "localhost" and server["enableXsrfProtection"] is True
    assert server["maxUploadSize"] == 200 and "localhost" in server["allowedHosts"]
    assert settings["client"]["showErrorDetails"] == "none" and settings["browser"]["gatherUsageStats"] is False


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_password_is_asked_before_any_page(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "correct horse")
    at = app()
    assert [t.value for t in at.title] == ["Deep clustering explorer"] and not at.get("plotly_chart")
    at.text_input[0].set_value("wrong")
    at.button[0].click().run()
    assert "not right" in at.error[0].value and not [t for t in at.title if t.value == "Train"]
    at.text_input[0].set_value("correct horse")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Train"]


@pytest.fixture
def listening_everywhere():
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


def test_beyond_localhost_without_a_password_nothing_is_shown(listening_everywhere, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    at = app()
    assert "no password is set" in at.error[0].value
    assert not at.text_input and not [t for t in at.title if t.value == "Train"]
