"""Every example in the docs and the README that is meant to run, run.

The convention: in ``docs/*.rst`` a code block marked ``:class: runnable``
runs; in ``README.md`` a fenced block whose info string holds ``runnable``
does. Python blocks of one page run in order in one namespace, which starts
with an ``app`` that has flask-scopes installed and the names the examples
import from Flask. A Jinja block runs too: with a name (``:caption:
settings.html`` or ``name=settings.html``) it is the template of that name;
without one it is rendered after a request flashed one message of each
category, each of which must then show at most once, and the error exactly
once if the template shows errors. Then every view the page defined is
requested with the test client, and every ``test_*`` function it defined is
called with the app.
"""

from __future__ import annotations

import pathlib
import re
import textwrap
import typing as t
from dataclasses import dataclass

import pytest
from flask import Flask
from flask import redirect
from flask import render_template
from flask import render_template_string
from flask import request
from flask import session
from flask import url_for
from jinja2 import ChoiceLoader
from jinja2 import DictLoader

from flask_scopes import flash
from flask_scopes import Scopes

ROOT = pathlib.Path(__file__).parent.parent
KEY = "docs-examples-key-that-is-long-enough-and-random-looking-0123456789"
SAMPLE = {
    "error": "An error to show once.",
    "success": "A success to show once.",
    "info": "Some information to show once.",
}


@dataclass
class Block:
    source: str
    line: int
    language: str
    code: str
    name: str | None = None

    @property
    def python(self) -> bool:
        return self.language in ("python", "py")


_RST_BLOCK = re.compile(r"^( *)\.\. code-block:: *(\S+)\n((?:\1 +:[^\n]*\n)*)\n", re.M)
_MD_BLOCK = re.compile(r"^```(\S+)([^\n]*)\n(.*?)^```", re.M | re.S)


def rst_blocks(path: pathlib.Path) -> list[Block]:
    text = path.read_text("utf-8")
    blocks: list[Block] = []
    for match in _RST_BLOCK.finditer(text):
        options = dict(
            re.findall(r":(\w+):[ \t]*(.*)", match.group(3)),
        )
        if "runnable" not in options.get("class", "").split():
            continue
        indent = len(match.group(1))
        body = []
        for line in text[match.end() :].splitlines():
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            body.append(line)
        line_number = text.count("\n", 0, match.start()) + 1
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        blocks.append(
            Block(path.name, line_number, match.group(2), code, options.get("caption"))
        )
    return blocks


def markdown_blocks(path: pathlib.Path) -> list[Block]:
    text = path.read_text("utf-8")
    blocks = []
    for match in _MD_BLOCK.finditer(text):
        words = match.group(2).split()
        if "runnable" not in words:
            continue
        names = [word[5:] for word in words if word.startswith("name=")]
        line_number = text.count("\n", 0, match.start()) + 1
        blocks.append(
            Block(
                path.name,
                line_number,
                match.group(1),
                match.group(3),
                names[0] if names else None,
            )
        )
    return blocks


def pages() -> dict[str, list[Block]]:
    found = {"README.md": markdown_blocks(ROOT / "README.md")}
    for path in sorted((ROOT / "docs").glob("*.rst")):
        found[path.name] = rst_blocks(path)
    return {name: blocks for name, blocks in found.items() if blocks}


PAGES = pages()


def test_the_convention_finds_examples() -> None:
    # The pages whose examples are known to be runnable: if a parser change
    # found none, every test below would pass without running anything.
    for page in ("README.md", "quickstart.rst", "index.rst", "flash.rst"):
        assert page in PAGES, page
    assert sum(len(blocks) for blocks in PAGES.values()) >= 12


def namespace() -> dict[str, t.Any]:
    app = Flask("docs_example")
    app.config.update(SECRET_KEY=KEY, TESTING=True)
    Scopes(app)
    return {
        "__name__": "docs_example",
        "app": app,
        "Flask": Flask,
        "flash": flash,
        "redirect": redirect,
        "render_template": render_template,
        "request": request,
        "session": session,
        "url_for": url_for,
    }


def install_templates(app: Flask, blocks: list[Block]) -> None:
    named = {
        block.name.removeprefix("templates/"): block.code
        for block in blocks
        if block.name
    }
    loaders = [DictLoader(named)]
    if app.jinja_loader is not None:
        loaders.append(app.jinja_loader)
    app.jinja_loader = ChoiceLoader(loaders)


def add_render_views(app: Flask, blocks: list[Block]) -> None:
    """For each template, a view that flashes a message of each category
    and redirects to one that renders the template."""

    @app.post("/_doc_flash/<int:line>", endpoint="_doc_flash")
    def flash_all(line: int) -> t.Any:
        for category, message in SAMPLE.items():
            flash.add(message, category)
        return redirect(url_for("_doc_render", line=line))

    @app.get("/_doc_render/<int:line>", endpoint="_doc_render")
    def render(line: int) -> str:
        (block,) = [block for block in blocks if block.line == line]
        return render_template_string(block.code)


def exercise_views(app: Flask) -> None:
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if rule.arguments or rule.endpoint == "static" or "_doc_" in rule.endpoint:
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = client.open(rule.rule, method=method, follow_redirects=True)
            assert response.status_code < 500, (rule.rule, method, response.text)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_examples_run(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # What an app that calls from_prefixed_env() reads its key from.
    monkeypatch.setenv("FLASK_SECRET_KEY", KEY)
    blocks = PAGES[page]
    ns = namespace()
    for block in blocks:
        if block.python:
            code = compile(block.code, f"{block.source}:{block.line}", "exec")
            exec(code, ns)
    app = ns["app"]
    assert isinstance(app, Flask)
    templates = [block for block in blocks if not block.python]
    install_templates(app, templates)
    add_render_views(app, templates)
    client = app.test_client()
    for block in templates:
        text = client.post(f"/_doc_flash/{block.line}", follow_redirects=True).text
        for category, message in SAMPLE.items():
            count = text.count(message)
            assert count <= 1, f"{block.source}:{block.line} shows {category} {count}x"
        if re.search(r"flash\.error|in flash\b", block.code):
            assert text.count(SAMPLE["error"]) == 1, f"{block.source}:{block.line}"
    if callable(ns.get("create_app")):
        made = ns["create_app"]()
        assert isinstance(made, Flask)
        assert "scopes" in made.extensions
    exercise_views(app)
    for name, value in list(ns.items()):
        if name.startswith("test_") and callable(value):
            value(app)
