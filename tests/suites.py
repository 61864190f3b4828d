"""Run other projects' published test suites with flask-scopes on every app.

    python -m tests.suites [--only NAME] [--workdir DIR]

For each project below, the source archive of a pinned release is fetched
from PyPI (``pip download --no-binary :all:``) and unpacked; the projects
are installed with flask-scopes in a virtual environment of their own, and
each one's tests run twice: once as they are, with Flask's own session, and
once with the pytest plugin shown on the migrating page
(docs/migrating.rst), which sets flask-scopes up on every app the tests
create. The run fails on any test that passes the first time and fails the
second, unless it is listed in :data:`KNOWN` with the difference of the
migrating page that explains it.

It takes a minute or two, most of it installing; it needs PyPI.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import typing as t
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATING = ROOT / "docs" / "migrating.rst"
PLUGIN = "scopes_everywhere"


@dataclass
class Suite:
    """One project's published test suite."""

    #: The distribution's name on PyPI.
    name: str
    #: The pinned release.
    version: str
    #: What its tests need besides the project itself.
    needs: list[str] = field(default_factory=list)
    #: The extras of the project to install with it.
    extras: str = ""


SUITES = [
    Suite("Flask-Login", "0.6.3", ["pytest", "asgiref", "semantic-version", "blinker"]),
    Suite("Flask-Dance", "7.1.0", ["pytest"], extras="[test]"),
]

#: Tests that pass with Flask's own session and fail with flask-scopes
#: because of a difference the migrating page lists: node id -> reason.
KNOWN: dict[str, str] = {}


def plugin_source() -> str:
    """The plugin's code, as the migrating page shows it."""
    text = MIGRATING.read_text("utf-8")
    match = re.search(
        rf"\.\. code-block:: python\n\n((?:    .*\n|\n)*?    # {PLUGIN}\.py.*\n"
        r"(?:    .*\n|\n)*?)(?=\S)",
        text,
    )
    if match is None:
        raise SystemExit(f"no {PLUGIN}.py code block in {MIGRATING}")
    return "\n".join(line[4:] for line in match.group(1).splitlines()) + "\n"


def run(*args: str | Path, cwd: Path | None = None) -> None:
    print("$", " ".join(map(str, args)), flush=True)
    subprocess.run([str(a) for a in args], cwd=cwd, check=True)


def fetch(suite: Suite, into: Path) -> Path:
    """Download and unpack the source archive; the unpacked folder."""
    into.mkdir(parents=True)
    archives = into / "archives"
    run(
        sys.executable, "-m", "pip", "download", "-q", "--no-deps",
        "--no-binary", ":all:", "-d", archives, f"{suite.name}=={suite.version}",
    )  # fmt: skip
    wanted = re.sub(r"[-_.]+", "_", suite.name).lower()
    for archive in archives.glob("*.tar.gz"):
        stem = archive.name[: -len(".tar.gz")]
        base, _, version = stem.rpartition("-")
        if re.sub(r"[-_.]+", "_", base).lower() == wanted and version == suite.version:
            with tarfile.open(archive) as tar:
                tar.extractall(into / "src", filter="data")
            return into / "src" / stem
    raise SystemExit(f"no source archive of {suite.name} {suite.version}")


def outcomes(report: Path) -> dict[str, str]:
    """Each test's outcome in a JUnit XML report: passed, failed, skipped."""
    found = {}
    for case in ET.parse(report).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        result = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                result = "failed"
            elif child.tag == "skipped":
                result = "skipped"
        found[name] = result
    return found


def prepare(suites: t.Sequence[Suite], work: Path) -> tuple[Path, dict[str, Path]]:
    """Fetch the suites and install them, with flask-scopes, in one virtual
    environment; its Python, and each suite's unpacked source."""
    sources = {suite.name: fetch(suite, work / suite.name) for suite in suites}
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    needs = sorted({need for suite in suites for need in suite.needs})
    projects = [f"{sources[suite.name]}{suite.extras}" for suite in suites]
    run(
        python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
        ROOT, *projects, *needs,
    )  # fmt: skip
    plugins = work / "plugins"
    plugins.mkdir()
    (plugins / f"{PLUGIN}.py").write_text(plugin_source(), "utf-8")
    return python, sources


def run_suite(suite: Suite, source: Path, python: Path, work: Path) -> list[str]:
    """Run one suite both ways; the tests flask-scopes breaks."""
    results = {}
    for way, extra in (("flask", []), ("scopes", ["-p", PLUGIN])):
        report = work / suite.name / f"{way}.xml"
        command = [
            python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--junitxml", report, *extra, "tests",
        ]  # fmt: skip
        print("$", " ".join(map(str, command)), flush=True)
        env = {**os.environ, "PYTHONPATH": str(work / "plugins")}
        # The suite's own output goes to a log: its summary line counts
        # that suite's tests, not this project's.
        log = work / suite.name / f"{way}.log"
        with log.open("wb") as out:
            subprocess.run(
                [str(c) for c in command],
                cwd=source,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        results[way] = outcomes(report)
    before, after = results["flask"], results["scopes"]
    passed = [name for name, result in before.items() if result == "passed"]
    broken = [name for name in passed if after.get(name) != "passed"]
    if broken:
        lines = (work / suite.name / "scopes.log").read_text("utf-8", "replace")
        print("\n".join(lines.splitlines()[-80:]), flush=True)
    print(
        f"{suite.name} {suite.version}: {len(before)} tests, {len(passed)} pass"
        f" with Flask's session, {len(passed) - len(broken)} of them with"
        f" flask-scopes",
        flush=True,
    )
    return broken


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only this project's suite")
    parser.add_argument("--workdir", type=Path, help="work here, and keep it")
    args = parser.parse_args(argv)
    chosen = [s for s in SUITES if args.only in (None, s.name)]
    if not chosen:
        parser.error(f"no suite named {args.only!r}")
    with tempfile.TemporaryDirectory() as temporary:
        work = args.workdir or Path(temporary)
        python, sources = prepare(chosen, work)
        failures = []
        for suite in chosen:
            for name in run_suite(suite, sources[suite.name], python, work):
                reason = KNOWN.get(name)
                if reason is None:
                    failures.append(f"{suite.name}: {name}")
                else:
                    print(f"known difference: {name}: {reason}")
    for failure in failures:
        print(f"FAILS WITH FLASK-SCOPES ONLY: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
