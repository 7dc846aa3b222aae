"""Routing tables of the scenarios' objects, in either API, to compare their forms: for each
routed host, per rule, who it matches (everyone or jason), the share of each version, the
request timeout and the fault."""

from __future__ import annotations

import re


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(ms|s)", text).groups()
    return float(value) / (1000 if unit == "ms" else 1)


def _shares(pairs: list[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    total = sum(weight for _, weight in pairs)
    return tuple(sorted((version, round(100 * weight / total)) for version, weight in pairs))


def _who(headers) -> str:
    return "jason" if headers else "everyone"


def istio_routing(objects) -> dict:
    table = {}
    for service in (o for o in objects if o["kind"] == "VirtualService"):
        rules = []
        for rule in service["spec"]["http"]:
            headers = [m.get("headers") for m in rule.get("match", []) if m.get("headers")]
            backends = [
                (d["destination"].get("subset", "all"), d.get("weight", 100)) for d in rule["route"]
            ]
            timeout = _seconds(rule["timeout"]) if "timeout" in rule else None
            rules.append((_who(headers), _shares(backends), timeout, str(rule.get("fault"))))
        table[service["spec"]["hosts"][0]] = rules
    return table


def gateway_api_routing(objects) -> dict:
    table = {}
    for route in (o for o in objects if o["kind"] == "HTTPRoute"):
        (parent,) = route["spec"]["parentRefs"]
        rules = []
        for rule in route["spec"]["rules"]:
            headers = [m["headers"] for m in rule.get("matches", []) if m.get("headers")]
            backends = []
            for backend in rule["backendRefs"]:
                name = backend["name"]
                version = (
                    name.removeprefix(f"{parent['name']}-") if name != parent["name"] else "all"
                )
                backends.append((version, backend.get("weight", 1)))
            timeout = rule.get("timeouts", {}).get("request")
            rules.append(
                (_who(headers), _shares(backends), _seconds(timeout) if timeout else None, "None")
            )
        table[parent["name"]] = rules
    table.update(istio_routing([o for o in objects if o["kind"] == "VirtualService"]))
    return table
