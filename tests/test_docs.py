from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from flask_scopes import settings

DOCS = pathlib.Path(__file__).parent.parent / "docs"


@pytest.mark.docs
def test_docs_build_without_warnings(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("sphinx")
    pytest.importorskip("pallets_sphinx_themes")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    html = tmp_path / "html"
    assert (html / "configuration.html").is_file()
    # The sidebar's long key names wrap: the stylesheet is linked.
    assert "_static/scopes.css" in (html / "configuration.html").read_text("utf-8")
    assert "overflow-wrap" in (html / "_static" / "scopes.css").read_text("utf-8")
    assert "request-life.svg" in (html / "how-it-works.html").read_text("utf-8")
    quickstart = (html / "quickstart.html").read_text("utf-8")
    for name in ("settings-errors", "inspect", "settings-dark"):
        assert f"{name}.png" in quickstart


def test_the_diagram_is_well_formed_svg() -> None:
    root = ElementTree.parse(DOCS / "_static" / "request-life.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(
        "".join(element.itertext())
        for element in root.iter("{http://www.w3.org/2000/svg}text")
    )
    for words in ("first touches flask.session", "saves the flash", "SET the entry"):
        assert words in texts


def test_the_api_page_documents_only_public_names() -> None:
    import importlib

    import flask_scopes

    # The package's "flash" attribute is the helper, not the subpackage.
    flash_helpers = importlib.import_module("flask_scopes.flash")
    text = (DOCS / "api.rst").read_text("utf-8")
    names = re.findall(
        r"^\.\. (?:autoclass|autoexception|autofunction|py:data):: (\S+)", text, re.M
    )
    assert len(names) > 15
    for name in names:
        module, _, attr = name.rpartition(".")
        if module == "flask_scopes.flash":
            assert hasattr(flash_helpers, attr), name
        else:
            assert not module, name
            assert hasattr(flask_scopes, attr), name


def test_screenshots_are_small() -> None:
    shots = sorted((DOCS / "_static" / "screenshots").glob("*.png"))
    assert len(shots) >= 4
    for shot in shots:
        assert shot.stat().st_size < 150_000, shot.name


def config_entries() -> dict[str, str]:
    """Each ``py:data`` entry of the configuration page and its text."""
    text = (DOCS / "configuration.rst").read_text("utf-8")
    parts = re.split(r"^\.\. py:data:: (\S+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("key", [*settings.FLASK_KEYS, *settings.DEFAULTS])
def test_every_key_is_documented(key: str) -> None:
    entry = config_entries().get(key)
    assert entry is not None, f"{key} has no py:data entry in configuration.rst"
    assert "Default: ``" in entry
    assert re.search(r"^    \.\. versionadded:: 0\.[12]$", entry, re.M), entry


@pytest.mark.parametrize("key", sorted(settings.DEFAULTS))
def test_documented_defaults_match(key: str) -> None:
    entry = config_entries()[key]
    default = re.search(r"Default: ``(.+?)``", entry)
    assert default is not None
    assert default.group(1) == repr(settings.DEFAULTS[key]).replace("'", '"')


def test_no_undocumented_extra_keys() -> None:
    known = {*settings.FLASK_KEYS, *settings.DEFAULTS}
    assert set(config_entries()) <= known


def test_ci_runs_the_readme_test_command() -> None:
    root = DOCS.parent
    readme = (root / "README.md").read_text("utf-8")
    commands = re.findall(r"^python3 -m venv .*pytest$", readme, re.M)
    assert len(commands) == 1
    assert "python3 -m venv .venv && . .venv/bin/activate" in commands[0]
    ci = (root / ".ci" / "run").read_text("utf-8").splitlines()
    assert commands[0] in ci
