from __future__ import annotations

import pathlib
import re
import subprocess
import sys

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
    assert (tmp_path / "html" / "configuration.html").is_file()


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
    assert re.search(r"\.\. versionadded:: 0\.\d", entry)


@pytest.mark.parametrize("key", sorted(settings.DEFAULTS))
def test_documented_defaults_match(key: str) -> None:
    entry = config_entries()[key]
    default = re.search(r"Default: ``(.+?)``", entry)
    assert default is not None
    assert default.group(1) == repr(settings.DEFAULTS[key]).replace("'", '"')


def test_no_undocumented_extra_keys() -> None:
    known = {*settings.FLASK_KEYS, *settings.DEFAULTS}
    assert set(config_entries()) <= known
