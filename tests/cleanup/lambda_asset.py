"""Loading the cleanup handler's folder as the Lambda runtime does: the folder on sys.path and
every file in it a top-level module (handler, cleanup_contract, ...), not a package of this
project."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

HANDLER_DIR = Path(__file__).resolve().parents[2] / "constructs" / "load_balancer_cleanup_handler"


def module_names(folder: Path = HANDLER_DIR) -> list[str]:
    return sorted(path.stem for path in folder.glob("*.py"))


@contextmanager
def lambda_asset(folder: Path = HANDLER_DIR) -> Iterator[SimpleNamespace]:
    """The folder's modules, by name, while the context lasts; then they leave sys.modules and
    the folder leaves sys.path, so that no other test imports them by their generic names."""
    names = module_names(folder)
    taken = [name for name in names if name in sys.modules]
    if taken:
        raise RuntimeError(f"modules {taken} are already imported; the asset would reuse them")
    entry = str(folder)
    sys.path.insert(0, entry)
    bytecode = sys.dont_write_bytecode
    try:
        # A __pycache__ beside the handler would be bundled into the Lambda asset.
        sys.dont_write_bytecode = True
        try:
            modules = {name: importlib.import_module(name) for name in names}
        finally:
            sys.dont_write_bytecode = bytecode
        yield SimpleNamespace(**modules)
    finally:
        for name in names:
            sys.modules.pop(name, None)
        sys.path.remove(entry)
