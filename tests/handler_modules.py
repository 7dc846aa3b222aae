"""Loading Lambda handler code as the Lambda runtime does: each file a top-level module, not
a package of this project."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest


@contextmanager
def handler_module(name: str, path: Path) -> Iterator[ModuleType]:
    """The file at path as module `name`, registered in sys.modules while the context lasts
    (dataclasses look their module up there)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, name, module)
        # A __pycache__ beside the handler would be bundled into the Lambda asset.
        with pytest.MonkeyPatch.context() as bytecode:
            bytecode.setattr(sys, "dont_write_bytecode", True)
            spec.loader.exec_module(module)
        yield module


def asset_module_names(root: Path) -> list[str]:
    """The top-level modules of a Lambda asset folder: its .py files."""
    return sorted(path.stem for path in root.glob("*.py"))


@contextmanager
def lambda_asset(root: Path) -> Iterator[dict[str, ModuleType]]:
    """Every module of the asset folder root, by name, imported as the Lambda runtime imports
    them: root first on sys.path, each file a top-level module that imports the others by
    their bare names. sys.path and those names in sys.modules are as before once the context
    ends; modules of the same names loaded before are set aside meanwhile."""
    names = asset_module_names(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "path", [str(root), *sys.path])
        # A __pycache__ beside the handler would be bundled into the Lambda asset.
        patch.setattr(sys, "dont_write_bytecode", True)
        for name in names:
            patch.delitem(sys.modules, name, raising=False)
        importlib.invalidate_caches()
        try:
            yield {name: importlib.import_module(name) for name in names}
        finally:
            # Those imported here go; the undo puts back those set aside.
            for name in names:
                sys.modules.pop(name, None)
