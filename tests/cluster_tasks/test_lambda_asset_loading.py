"""The handler's folder loaded as Lambda loads it (first on sys.path, each file a top-level
module): its module names shadow no other module, and the tests' loading leaves the process
as it was. No test here uses the `asset` fixture, so the folder is not loaded already when
the loader is checked."""

from __future__ import annotations

import importlib.machinery
import sys
from pathlib import Path

from constructs.cluster_tasks import HANDLER_DIR
from constructs.load_balancer_cleanup import HANDLER_DIR as CLEANUP_HANDLER_DIR
from tests.handler_modules import asset_module_names, lambda_asset


def test_no_handler_module_shadows_another_module():
    # Lambda puts the asset folder first on sys.path; the tests load both handlers' folders
    # that way into one process.
    names = asset_module_names(HANDLER_DIR)
    assert not set(names) & set(asset_module_names(CLEANUP_HANDLER_DIR))
    elsewhere = [p for p in sys.path if Path(p) != HANDLER_DIR]
    for name in names:
        assert name not in sys.stdlib_module_names
        assert importlib.machinery.PathFinder.find_spec(name, elsewhere) is None, name


def test_loading_the_asset_leaves_sys_path_and_sys_modules_as_they_were(monkeypatch):
    # As in a shell without PYTHONDONTWRITEBYTECODE.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    names = asset_module_names(HANDLER_DIR)
    path, modules = list(sys.path), {n: sys.modules.get(n) for n in names}
    with lambda_asset(HANDLER_DIR) as loaded:
        assert sys.path[0] == str(HANDLER_DIR)
        assert sys.dont_write_bytecode, "a __pycache__ would land in the asset folder"
        assert all(sys.modules[n] is loaded[n] for n in names)
    assert sys.path == path
    assert not sys.dont_write_bytecode
    assert {n: sys.modules.get(n) for n in names} == modules
