"""The fuzz target in ``tests/fuzz`` works: its starting corpus passes, and
a short run of each engine finishes clean. The long run is a separate,
time-bounded command (see ``docs/robustness.rst``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "fuzz" / "fuzz_cookies.py"
ROOT = HERE.parent


@pytest.fixture(scope="module")
def targets():
    spec = importlib.util.spec_from_file_location("fuzz_cookies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Targets()


def test_corpus_passes(targets) -> None:
    """Every starting input runs its target without a failure, and every
    target has some."""
    corpus = targets.corpus()
    assert {unit[0] for unit in corpus} == set(range(len(targets.all())))
    for unit in corpus:
        targets.one_input(unit)


def test_a_bad_decoder_is_caught(targets, monkeypatch: pytest.MonkeyPatch) -> None:
    """The target fails when a decoder lets an unexpected error out."""

    def broken(value: str) -> None:
        raise KeyError(value)

    monkeypatch.setattr(targets.codec, "decode", broken)
    with pytest.raises(KeyError):
        targets.one_input(b"\x00anything")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def test_hypothesis_engine_runs() -> None:
    result = run("--hypothesis", "-runs=400", "-max_total_time=60")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "400 inputs over 8 targets" in result.stdout


def test_atheris_engine_runs() -> None:
    pytest.importorskip("atheris")
    result = run("-runs=5000", "-max_total_time=60")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Done 5000 runs" in result.stderr
