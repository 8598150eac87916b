"""The documentation site's build check: the reference lists every public name."""

from __future__ import annotations

import importlib.util
import zlib
from pathlib import Path
from types import ModuleType

import heygen_async as hg


HOOKS = Path(__file__).resolve().parents[2] / "docs" / "_hooks.py"


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", HOOKS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inventory(path: Path, names: list[str]) -> None:
    lines = "".join(f"{name} py:class 1 reference/#$ -\n" for name in names)
    header = (
        b"# Sphinx inventory version 2\n# Project: heygen_async\n"
        b"# Version: 0.0.0\n# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header + zlib.compress(lines.encode()))


def test_every_public_name_must_be_documented(tmp_path: Path) -> None:
    """A name of ``__all__`` or a public module missing from the inventory is named."""
    hooks = load_hooks()
    everything = [f"heygen_async.{name}" for name in hg.__all__] + list(hooks.MODULES)
    inventory = tmp_path / "objects.inv"
    write_inventory(inventory, everything)
    assert hooks.missing_names(hooks.inventory_names(inventory)) == []
    write_inventory(inventory, [n for n in everything if n != "heygen_async.Client"])
    assert hooks.missing_names(hooks.inventory_names(inventory)) == [
        "heygen_async.Client"
    ]
    assert "heygen_async.fastapi" in hooks.MODULES


def test_sphinx_roles_are_dropped_from_rendered_docstrings() -> None:
    """A role renders as code alone; ``Example::`` as ``Example:``."""
    hooks = load_hooks()
    html = "<p>see :class:<code>~heygen_async.Client</code> and :meth:<code>x.y</code>"
    html += "::</p>"
    assert hooks.on_page_content(html) == (
        "<p>see <code>heygen_async.Client</code> and <code>x.y</code>:</p>"
    )
