"""Packaging: the curated public surface and the version."""

from __future__ import annotations

import importlib.metadata
import sys
import warnings

import pytest

import heygen_async as hg


def test_all_is_sorted() -> None:
    """__all__ is kept sorted so diffs stay readable."""
    assert hg.__all__ == sorted(hg.__all__)


# Submodules that need an optional extra (``heygen_async.fastapi``) become
# attributes of the package once imported, but stay out of ``__all__`` so that
# ``from heygen_async import *`` never needs the extra.
OPTIONAL_SUBMODULES = {"fastapi"}


def test_all_lists_exactly_the_public_names() -> None:
    """Every public name is in __all__ and every name in __all__ resolves."""
    public = {
        name
        for name in dir(hg)
        # ``annotations`` is the __future__ feature, not API; ``@py_builtins``
        # and ``@pytest_ar`` are pytest's, which rewrites the asserts of a
        # package that ships a pytest plugin.
        if not name.startswith(("_", "@"))
        and name != "annotations"
        and name not in OPTIONAL_SUBMODULES
    }
    assert public == set(hg.__all__)
    for name in hg.__all__:
        assert getattr(hg, name) is not None


def test_every_exception_is_exported() -> None:
    """The root re-exports every exception of the public exceptions module."""
    assert set(hg.exceptions.__all__) <= set(hg.__all__)
    for name in hg.exceptions.__all__:
        assert getattr(hg, name) is getattr(hg.exceptions, name)


def test_version_matches_metadata_without_warning() -> None:
    """__version__ is the installed distribution's version, read lazily."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hg.__version__ == importlib.metadata.version("heygen-async")


def test_testing_module_is_imported_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    """heygen_async.testing loads on first attribute access from the root."""
    monkeypatch.delitem(sys.modules, "heygen_async.testing")
    monkeypatch.delattr(hg, "testing")
    assert "testing" in dir(hg)
    assert hg.testing.FakeHeyGen.__name__ == "FakeHeyGen"
    assert "heygen_async.testing" in sys.modules


def test_unknown_attribute_raises() -> None:
    """A missing attribute is an AttributeError naming it."""
    with pytest.raises(AttributeError, match="does_not_exist"):
        hg.does_not_exist  # type: ignore[attr-defined]  # noqa: B018
