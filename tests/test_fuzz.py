"""The fuzz target in ``tests/fuzz`` works: its starting corpus passes, it
catches a decoder that misbehaves, and a short run of each engine finishes
clean. The long run is a separate, time-bounded command (see
``docs/robustness.rst``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import Markup

from flask_scopes.flash.codec import Batch

from .fuzz.fuzz_cookies import MODULE
from .fuzz.fuzz_cookies import Targets

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def targets() -> Targets:
    return Targets()


def index(targets: Targets, name: str) -> bytes:
    names = [n for n, _ in targets.all()]
    return bytes([names.index(name)])


def test_corpus_passes(targets: Targets) -> None:
    """Every starting input runs its target without a failure, and every
    target has some."""
    corpus = targets.corpus()
    assert {unit[0] for unit in corpus} == set(range(len(targets.all())))
    for unit in corpus:
        targets.one_input(unit)


def test_a_bad_decoder_is_caught(
    targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target fails when a decoder lets an unexpected error out."""

    def broken(value: str) -> None:
        raise KeyError(value)

    monkeypatch.setattr(targets.codec, "decode", broken)
    with pytest.raises(KeyError):
        targets.one_input(b"\x00anything")


@pytest.mark.parametrize("target", ["flash codec, any value", "flash codec, any body"])
def test_a_bad_flash_decoder_is_caught(
    targets: Targets, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """The flash targets fail when the unsigned codec lets an unexpected
    error out or gives Markup, and pass when it refuses."""
    codec = targets.flash_codecs["unsigned"]

    def markup(value: str) -> list[Batch]:
        return [Batch(1, [("info", Markup("<b>x</b>"))])]

    def broken(value: str) -> list[Batch]:
        raise IndexError(value)

    monkeypatch.setattr(codec, "decode", markup)
    with pytest.raises(AssertionError, match="Markup"):
        targets.one_input(index(targets, target) + b"\x00anything")
    monkeypatch.setattr(codec, "decode", broken)
    with pytest.raises(IndexError):
        targets.one_input(index(targets, target) + b"\x00anything")
    monkeypatch.undo()
    targets.one_input(index(targets, target) + b"\x00anything")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The fuzz command, as documented, from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", MODULE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def test_hypothesis_engine_runs(targets: Targets) -> None:
    result = run("--hypothesis", "-runs=500", "-max_total_time=60")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"500 inputs over {len(targets.all())} targets" in result.stdout


def test_atheris_engine_runs() -> None:
    pytest.importorskip("atheris")
    result = run("-runs=5000", "-max_total_time=60")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Done 5000 runs" in result.stderr


def test_run_as_a_file_says_how_to_run() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fuzz" / "fuzz_cookies.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert f"python -m {MODULE}" in result.stderr
