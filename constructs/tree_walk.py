"""Applying aspect-like visitors to a finished construct tree, from Python.

An aspect registered with `Aspects.of(scope)` is called back from the jsii runtime once per
construct during synth: hundreds of round trips between Node.js and Python. A tree that is
complete when the app has been built can instead be listed in one call and visited here,
with the same visitors (which keep implementing IAspect, so either way works).
"""

from __future__ import annotations

from aws_cdk import IAspect

from constructs import IConstruct


def visit_tree(scope: IConstruct, *visitors: IAspect) -> None:
    """Call every visitor on `scope` and every construct below it, in tree order. What the
    visitors add is not visited again: call this once the tree is complete."""
    for node in scope.node.find_all():
        for visitor in visitors:
            visitor.visit(node)
