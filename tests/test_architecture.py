"""The layers point one way and no module imports its way round in a circle (.importlinter, checked by
import-linter over every import, those inside functions too); pages/, which is not a package, is held
to the same rule here."""
import ast
import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_import_contracts_hold():
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                           "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_every_module_of_core_has_a_layer():
    """A module outside every layer would escape the contract: a new one must be placed."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = {name.strip() for line in config["importlinter:contract:layers"]["layers"].split("\n")
              for name in line.split(":") if name.strip()}
    modules = {f"core.{p.stem}" for p in (ROOT / "core").glob("*.py") if p.stem != "__init__"}
    modules |= {f"core.{p.parent.name}" for p in (ROOT / "core").glob("*/__init__.py")}
    assert modules - layers == set()


def test_pages_sit_on_top_and_import_no_other_page():
    for path in sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        ours = {m for m in _imports(path) if m.split(".")[0] in ("core", "ui", "pages")}
        assert not {m for m in ours if m.startswith("pages")}, path.name
        assert ours, path.name  # a page calls into core or ui; an empty set means this check read nothing


def test_core_never_reaches_up_to_the_dashboard():
    for path in (ROOT / "core").rglob("*.py"):
        assert not {m for m in _imports(path) if m.split(".")[0] in ("streamlit", "ui", "pages")}, path
