"""The lab's plans for the tests: every accepted combination of the mode keys, the objects a
plan applies, and the analyzer's verdict on objects applied in the lab's place."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from plan import modes
from plan.lab_plan import LabPlan, plan_from_context
from plan.routing import RESERVED_SUBSETS
from plan.scenarios import SCENARIOS

NAMESPACE = "default"

# The mode keys and every value each takes.
MODE_KEYS: Mapping[str, tuple[str, ...]] = {
    "ingressApi": tuple(modes.INGRESS_APIS),
    "dataplane": tuple(modes.DATAPLANES),
    "tracing": tuple(modes.TRACING),
    "scenario": tuple(SCENARIOS),
}


# The scenarios ambient mode cannot apply, as docs/ambient.md lists them: their faults have
# only a VirtualService form.
REFUSED_IN_AMBIENT = frozenset({"ratings-delay-jason", "ratings-abort-jason", "reviews-timeout"})


def _accepted(context: Mapping[str, str]) -> bool:
    return not (context["dataplane"] == "ambient" and context["scenario"] in REFUSED_IN_AMBIENT)


ALL_COMBINATIONS = [
    dict(zip(MODE_KEYS, values, strict=True)) for values in itertools.product(*MODE_KEYS.values())
]
# Every combination of the mode keys the lab accepts (ambient refuses the fault scenarios).
ACCEPTED = [context for context in ALL_COMBINATIONS if _accepted(context)]
REFUSED = [context for context in ALL_COMBINATIONS if not _accepted(context)]


def combination_id(context: Mapping[str, Any]) -> str:
    return "/".join(str(context[key]) for key in MODE_KEYS if key in context)


def lab_plan(**context: Any) -> LabPlan:
    """The plan for these context keys (the rest at their defaults)."""
    return plan_from_context(context)


def lab_objects(scenario: str = "round-robin", **context: Any) -> list[dict]:
    """Copies of Bookinfo's and the routing's objects as the plan applies them."""
    return copy.deepcopy(lab_plan(scenario=scenario, **context).analyzed_objects)


def analyzer_messages(
    objects: Iterable[Mapping[str, Any]],
    reserved: Mapping[str, Iterable[str]] = RESERVED_SUBSETS,
    **context: Any,
) -> list[str]:
    """The analyzer's findings, as the synth reports them, for `objects` applied in place of
    the lab's objects of the plan for these context keys."""
    return [str(f) for f in lab_plan(**context).findings(objects, reserved_subsets=reserved)]
