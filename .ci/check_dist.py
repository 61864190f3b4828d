"""Check what the built distributions hold: the wheel only the package (with
its ``py.typed``) and its metadata; the sdist the tests and the docs too.

    python .ci/check_dist.py dist
"""

from __future__ import annotations

import pathlib
import sys
import tarfile
import zipfile


def check(dist: pathlib.Path) -> list[str]:
    problems = []
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in names:
        top = name.split("/", 1)[0]
        if top != "flask_scopes" and not top.endswith(".dist-info"):
            problems.append(f"{wheel.name} holds {name}")
    if "flask_scopes/py.typed" not in names:
        problems.append(f"{wheel.name} lacks flask_scopes/py.typed")
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[-1] for name in archive.getnames()}
    for needed in (
        "tests/conftest.py",
        "docs/conf.py",
        "docs/index.rst",
        "README.md",
        "CHANGES.rst",
        "flask_scopes/py.typed",
    ):
        if needed not in members:
            problems.append(f"{sdist.name} lacks {needed}")
    for member in members:
        if member.startswith("docs/_build/") or "__pycache__" in member:
            problems.append(f"{sdist.name} holds {member}")
    return problems


if __name__ == "__main__":
    found = check(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "dist"))
    for problem in found:
        print(problem, file=sys.stderr)
    sys.exit(1 if found else 0)
