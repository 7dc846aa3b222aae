"""Field names of the Istio networking v1 resources the lab uses, to catch misspelt fields.

No registry package carries the API schema of Istio 1.31 for Python 3.11 (see
docs/validation.md), so this is the lab's own, deliberately partial description: it lists the
fields of Istio's networking v1 API reference for Gateway, VirtualService,
DestinationRule and ServiceEntry, and rejects any other. Types and value ranges are not
checked here; istiod's validating webhook checks them at deploy time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plan.facts import GATEWAY_API_V1, ISTIO_NETWORKING_V1

# A node is either a dict of field name -> node, a one-element list (a list of that node),
# or ANY (a free-form value: a label map, a string, a number, an object not described).
ANY = object()

PERCENT = {"value": ANY}
PORT_SELECTOR = {"number": ANY}
STRING_MATCH = {"exact": ANY, "prefix": ANY, "regex": ANY}
DESTINATION = {"host": ANY, "subset": ANY, "port": PORT_SELECTOR}
HEADER_OPERATIONS = {"set": ANY, "add": ANY, "remove": ANY}
HEADERS = {"request": HEADER_OPERATIONS, "response": HEADER_OPERATIONS}

SERVER = {
    "port": {"number": ANY, "protocol": ANY, "name": ANY, "targetPort": ANY},
    "bind": ANY,
    "hosts": ANY,
    "tls": ANY,
    "name": ANY,
}

HTTP_MATCH = {
    "name": ANY,
    "uri": STRING_MATCH,
    "scheme": STRING_MATCH,
    "method": STRING_MATCH,
    "authority": STRING_MATCH,
    "headers": ANY,
    "port": ANY,
    "sourceLabels": ANY,
    "gateways": ANY,
    "queryParams": ANY,
    "ignoreUriCase": ANY,
    "withoutHeaders": ANY,
    "sourceNamespace": ANY,
    "statPrefix": ANY,
}

HTTP_FAULT = {
    "delay": {"fixedDelay": ANY, "percentage": PERCENT},
    "abort": {"httpStatus": ANY, "grpcStatus": ANY, "percentage": PERCENT},
}

HTTP_ROUTE = {
    "name": ANY,
    "match": [HTTP_MATCH],
    "route": [{"destination": DESTINATION, "weight": ANY, "headers": HEADERS}],
    "redirect": ANY,
    "directResponse": ANY,
    "delegate": ANY,
    "rewrite": ANY,
    "timeout": ANY,
    "retries": {
        "attempts": ANY,
        "perTryTimeout": ANY,
        "retryOn": ANY,
        "retryRemoteLocalities": ANY,
    },
    "fault": HTTP_FAULT,
    "mirror": DESTINATION,
    "mirrors": ANY,
    "mirrorPercentage": PERCENT,
    "corsPolicy": ANY,
    "headers": HEADERS,
}

L4_ROUTE = {"match": ANY, "route": [{"destination": DESTINATION, "weight": ANY}]}

SPECS: Mapping[str, Mapping[str, Any]] = {
    "Gateway": {"servers": [SERVER], "selector": ANY},
    "VirtualService": {
        "hosts": ANY,
        "gateways": ANY,
        "http": [HTTP_ROUTE],
        "tls": [L4_ROUTE],
        "tcp": [L4_ROUTE],
        "exportTo": ANY,
    },
    "DestinationRule": {
        "host": ANY,
        "trafficPolicy": ANY,
        "subsets": [{"name": ANY, "labels": ANY, "trafficPolicy": ANY}],
        "exportTo": ANY,
        "workloadSelector": ANY,
    },
    "ServiceEntry": {
        "hosts": ANY,
        "addresses": ANY,
        "ports": ANY,
        "location": ANY,
        "resolution": ANY,
        "endpoints": ANY,
        "workloadSelector": ANY,
        "exportTo": ANY,
        "subjectAltNames": ANY,
    },
}

ISTIO_NETWORKING_API = ISTIO_NETWORKING_V1


def structure_problems(obj: Mapping[str, Any]) -> list[str]:
    """One line per field the API does not define (e.g. "unknown field
    spec.http[0].route[0].destinaton") or value of the wrong shape.

    Objects of other API versions are not looked at; a kind of Istio's networking v1 API
    or of the Gateway API v1 that the lab has no description for is reported, so that one
    is added before it is used.
    """
    from checks import gateway_api_fields

    api_version = obj.get("apiVersion", "")
    if api_version == ISTIO_NETWORKING_API:
        specs, where = SPECS, "checks/istio_fields.py"
    elif api_version == GATEWAY_API_V1:
        specs, where = gateway_api_fields.SPECS, "checks/gateway_api_fields.py"
    else:
        return []
    spec_fields = specs.get(obj["kind"])
    if spec_fields is None:
        return [f"kind {obj['kind']} is not described in {where}"]
    return _walk(obj.get("spec", {}), spec_fields, "spec")


def _walk(value: Any, node: Any, path: str) -> list[str]:
    if node is ANY:
        return []
    if isinstance(node, list):
        if not isinstance(value, list):
            return [f"{path} must be a list"]
        return [p for i, item in enumerate(value) for p in _walk(item, node[0], f"{path}[{i}]")]
    if not isinstance(value, Mapping):
        return [f"{path} must be an object"]
    unknown = []
    for key, item in value.items():
        if key not in node:
            unknown.append(f"unknown field {path}.{key}")
        else:
            unknown += _walk(item, node[key], f"{path}.{key}")
    return unknown
