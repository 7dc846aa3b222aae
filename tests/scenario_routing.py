"""Routing tables, to compare the scenarios' forms with the scenario table: for each routed
service, per rule, who it matches (everyone or jason), the share of each version, the request
timeout in seconds and the fault. Read back from the rendered objects of either API, or worked
out from the table's rules directly."""

from __future__ import annotations

import re


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(ms|s)", text).groups()
    return float(value) / (1000 if unit == "ms" else 1)


def _shares(pairs: list[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    total = sum(weight for _, weight in pairs)
    return tuple(sorted((version, round(100 * weight / total)) for version, weight in pairs))


EVERYONE = "everyone"


def _one_user(users: set[str]) -> str:
    return EVERYONE if not users else users.pop() if len(users) == 1 else str(sorted(users))


def _istio_who(matches: list[dict]) -> str:
    """The user an Istio rule's matches select by productpage's end-user header."""
    return _one_user({m["headers"]["end-user"]["exact"] for m in matches if m.get("headers")})


def _gateway_api_who(matches: list[dict]) -> str:
    return _one_user(
        {
            h["value"]
            for m in matches
            for h in m.get("headers", [])
            if h["name"] == "end-user" and h.get("type", "Exact") == "Exact"
        }
    )


def _istio_fault(fault: dict | None) -> tuple | None:
    if fault is None:
        return None
    if "delay" in fault:
        return ("delay", _seconds(fault["delay"]["fixedDelay"]), fault["delay"]["percentage"])
    return ("abort", fault["abort"]["httpStatus"], fault["abort"]["percentage"])


def istio_routing(objects) -> dict:
    table = {}
    for service in (o for o in objects if o["kind"] == "VirtualService"):
        rules = []
        for rule in service["spec"]["http"]:
            backends = [
                (d["destination"].get("subset", "all"), d.get("weight", 100)) for d in rule["route"]
            ]
            timeout = _seconds(rule["timeout"]) if "timeout" in rule else None
            who = _istio_who(rule.get("match", []))
            rules.append((who, _shares(backends), timeout, _istio_fault(rule.get("fault"))))
        table[service["spec"]["hosts"][0]] = rules
    return table


def gateway_api_routing(objects) -> dict:
    table = {}
    for route in (o for o in objects if o["kind"] == "HTTPRoute"):
        (parent,) = route["spec"]["parentRefs"]
        rules = []
        for rule in route["spec"]["rules"]:
            backends = []
            for backend in rule["backendRefs"]:
                name = backend["name"]
                version = (
                    name.removeprefix(f"{parent['name']}-") if name != parent["name"] else "all"
                )
                backends.append((version, backend.get("weight", 1)))
            timeout = rule.get("timeouts", {}).get("request")
            who = _gateway_api_who(rule.get("matches", []))
            rules.append((who, _shares(backends), _seconds(timeout) if timeout else None, None))
        table[parent["name"]] = rules
    table.update(istio_routing([o for o in objects if o["kind"] == "VirtualService"]))
    return table


def table_routing(scenario, services) -> dict:
    """The same table for `services`, straight from the scenario's rules."""
    table = {}
    for service in services:
        rules = []
        for rule in scenario.routes[service]:
            backends = [(b.version or "all", b.weight or 1) for b in rule.to]
            timeout = rule.timeout_ms / 1000 if rule.timeout_ms is not None else None
            fault = None
            if rule.fault is not None:
                percentage = {"value": rule.fault.percent}
                fault = (
                    ("delay", rule.fault.delay_ms / 1000, percentage)
                    if rule.fault.delay_ms is not None
                    else ("abort", rule.fault.abort_status, percentage)
                )
            rules.append((rule.user or EVERYONE, _shares(backends), timeout, fault))
        table[service] = rules
    return table
