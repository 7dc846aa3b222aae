"""Readiness barriers: what a construct must wait for, passed to it in its props.

A construct that starts something which needs another part of the lab to be ready (a pod that
needs istiod's injection webhook, a Service that needs the load balancer controller's
webhook) receives the barrier in its props and holds what it creates behind it, where it
creates it. Nothing is discovered later; CloudFormation deletes in the reverse order, so a
barrier also keeps what it guards alive until its dependents are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import IConstruct


@dataclass(frozen=True)
class Barrier:
    """Constructs that are complete before anything this barrier holds starts."""

    after: tuple[IConstruct, ...] = ()

    def hold(self, *dependents: IConstruct) -> None:
        if not self.after:
            return
        for dependent in dependents:
            dependent.node.add_dependency(*self.after)

    def __add__(self, other: Barrier) -> Barrier:
        return Barrier((*self.after, *other.after))
