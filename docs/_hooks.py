"""
Build checks for the documentation site.

``mkdocs build --strict`` fails unless the API reference documents every
public name: each entry of ``heygen_async.__all__`` and the public modules.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

import heygen_async


MODULES = ("heygen_async.testing", "heygen_async.webhooks", "heygen_async.fastapi")
# Sphinx roles left in docstrings (``:class:`~heygen_async.Client```) render
# as a role name beside inline code; keep the code, drop the role.
_ROLE = re.compile(r":(?:class|func|meth|attr|exc|data|mod|obj):(<code>)~?")
# reStructuredText's "Example::" introduces the code block that follows.
_LITERAL = re.compile(r"::</p>")


def inventory_names(path: Path) -> set[str]:
    """The object names listed in a Sphinx ``objects.inv`` (version 2)."""
    raw = path.read_bytes()
    body = raw.split(b"\n", 4)[4]
    lines = zlib.decompress(body).decode().splitlines()
    return {line.split(" ", 1)[0] for line in lines if line}


def missing_names(documented: set[str]) -> list[str]:
    """Public names the reference does not document."""
    wanted = [f"heygen_async.{name}" for name in heygen_async.__all__]
    wanted += MODULES
    return sorted(name for name in wanted if name not in documented)


def on_page_content(html: str, **_: Any) -> str:
    """Drop the Sphinx roles and ``::`` markers the docstrings carry."""
    return _LITERAL.sub(":</p>", _ROLE.sub(r"\1", html))


def on_post_build(config: Any, **_: Any) -> None:
    """Fail the build when a public name is missing from the reference."""
    inventory = Path(config["site_dir"]) / "objects.inv"
    missing = missing_names(inventory_names(inventory))
    if missing:
        msg = f"the API reference does not document: {', '.join(missing)}"
        raise PluginError(msg)
