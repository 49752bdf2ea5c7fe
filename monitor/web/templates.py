"""The dashboard's Jinja2 templates (monitor/web/templates/*.html). The pages are moving here
from f-strings, one at a time; a template escapes every value unless it is marked safe, so a
feed's title or a caller's words can never become markup, and a name the page forgot to pass
fails loudly (StrictUndefined) instead of printing nothing."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# the templates folder has no __init__.py: it is data shipped with the package
# (package-data in pyproject.toml), and this module keeps the name monitor.web.templates
ENV = Environment(loader=PackageLoader("monitor.web", "templates"),
                  autoescape=select_autoescape(("html",), default_for_string=True, default=True),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **values: Any) -> str:
    """The template ``name`` filled with ``values``: a page's body, wrapped by
    pages.html_page."""
    return ENV.get_template(name).render(**values)


def setup(app: web.Application) -> None:
    """The same environment for aiohttp-jinja2's ``render_template`` in request handlers."""
    app[aiohttp_jinja2.APP_KEY] = ENV
