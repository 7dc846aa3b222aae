"""Loading a Lambda handler file by path, as the Lambda runtime does: a top-level module,
not a package of this project."""

from __future__ import annotations

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
