"""Sphinx configuration of genbench's documentation: furo, MyST Markdown pages, sphinx-gallery examples
executed at build time, autodoc for the Python API, and docs/_ext for the pages generated from the code.

Build (strict: every warning is an error, every cross-reference must resolve):

    .venv/bin/sphinx-build -W --keep-going -n -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "genbench"
author = "the genbench authors"
copyright = "2026, the genbench authors"

from genbench import __version__  # noqa: E402

release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_gallery.gen_gallery",
    "genbench_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples", "gallery/*.ipynb", "gallery/*.py",
                    "gallery/*.json", "gallery/*.zip"]
root_doc = "index"
# Options are written as typed: no "--budget" turned into an en dash, no quotes curled.
smartquotes = False

# MyST: Markdown pages with the README's tables, fences and heading anchors (so that [text](#anchor)
# links moved from the README keep working, and are checked).
myst_enable_extensions = ["deflist", "colon_fence", "dollarmath"]
myst_heading_anchors = 3

# Strict references: every page link, heading anchor and document reference must resolve, and so must
# every Python reference written in the pages (roles such as {py:func}). Two kinds are let through:
# references to other projects (torch, numpy, pandas, the standard library), whose inventories an offline
# build cannot fetch; and classes named only by type annotations in genbench's signatures, which point
# at internal classes the reference does not document (genbench.estimators.LikelihoodEstimator, say)
# and change with the code, so that a new annotation is not a broken page.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!genbench\b).*"),
    (r"py:class", r"genbench\..*"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = f"genbench {version}"
html_static_path: list[str] = []

# The example gallery: each script runs at build time (a failing one fails the build) and its figures
# are embedded. Scripts run in a scratch folder, at the smoke budget, on one thread per process.
os.environ.setdefault("GENBENCH_OFFLINE", "1")
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "plot_gallery": "True",
}


def _escape_shapes(app, what, name, obj, options, lines):
    """Docstrings write shapes as Python does, ``(n, *info.shape)``; reStructuredText would read that
    ``*`` as the start of emphasis. Escape a star that opens an unpacked name inside a shape."""
    import re

    lines[:] = [re.sub(r"([(,] ?)\*(?=\w)", r"\1\\*", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shapes)
