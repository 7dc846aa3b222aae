"""A safety net: one snapshot per stack, with asset hashes normalized.

Update after an intended change with `.venv/bin/python -m pytest tests/test_snapshots.py
--snapshot-update` and review the diff of tests/__snapshots__/.
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalized(template: dict) -> dict:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_network_stack_matches_snapshot(network_template, json_snapshot):
    assert normalized(network_template.to_json()) == json_snapshot


def test_cluster_stack_matches_snapshot(cluster_template, json_snapshot):
    assert normalized(cluster_template.to_json()) == json_snapshot


def test_normalizing_keeps_everything_but_hashes():
    template = {"Key": "0" * 64 + ".zip", "Name": "cafe", "Short": "a" * 63}
    assert normalized(template) == {"Key": "<asset-hash>.zip", "Name": "cafe", "Short": "a" * 63}
