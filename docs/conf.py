"""Sphinx configuration for the flask-scopes documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the
project's root, after ``pip install -e ".[docs]"``.
"""

from __future__ import annotations

import configparser
import os
import sys

# Document the package from this checkout, installed or not.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

_setup = configparser.ConfigParser()
_setup.read(os.path.join(ROOT, "setup.cfg"), encoding="utf-8")

# -- Project -----------------------------------------------------------------

project = "flask-scopes"
copyright = "2026, the flask-scopes contributors"
author = "the flask-scopes contributors"
release = _setup["metadata"]["version"]
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

default_role = "code"
extensions = [
    "sphinx.ext.autodoc",
    "pallets_sphinx_themes",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_preserve_defaults = True
exclude_patterns = ["_build"]

# -- HTML --------------------------------------------------------------------

html_theme = "flask"
html_theme_options = {"index_sidebar_logo": False}
html_sidebars = {
    "index": ["project.html", "localtoc.html", "searchbox.html"],
    "**": ["localtoc.html", "relations.html", "searchbox.html"],
}
html_static_path = ["_static"]
html_css_files = ["scopes.css"]
html_title = f"flask-scopes Documentation ({version})"
html_show_sourcelink = False
# The theme's version banner asks a package index for the latest release;
# these docs make no requests of their own.
version_banner = False
