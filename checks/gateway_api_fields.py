"""Field names of the Kubernetes Gateway API v1 resources the lab applies (Gateway, HTTPRoute),
to catch misspelt fields, as checks/istio_fields.py does for Istio's.

No registry package fits (docs/validation.md): PyPI has no Gateway API models, and npm's
@kubernetes-models/gateway-api 2.0.0 needs Node.js >= 22 while its 0.5 line predates Gateway
API v1.6. So this is the lab's own description of the standard channel's v1 spec fields as
v1.6's CRD schemas define them; values and ranges are left to the API server, which
validates against those schemas at deploy time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.istio_fields import ANY

PARENT_REF = {
    "group": ANY,
    "kind": ANY,
    "name": ANY,
    "namespace": ANY,
    "port": ANY,
    "sectionName": ANY,
}
BACKEND_REF = {
    "group": ANY,
    "kind": ANY,
    "name": ANY,
    "namespace": ANY,
    "port": ANY,
    "weight": ANY,
    "filters": ANY,
}
NAME_MATCH = {"name": ANY, "type": ANY, "value": ANY}
HTTP_ROUTE_MATCH = {
    "path": {"type": ANY, "value": ANY},
    "headers": [NAME_MATCH],
    "queryParams": [NAME_MATCH],
    "method": ANY,
}
HTTP_ROUTE_RULE = {
    "name": ANY,
    "matches": [HTTP_ROUTE_MATCH],
    "filters": ANY,
    "backendRefs": [BACKEND_REF],
    "timeouts": {"request": ANY, "backendRequest": ANY},
}
LISTENER = {
    "name": ANY,
    "hostname": ANY,
    "port": ANY,
    "protocol": ANY,
    "tls": ANY,
    "allowedRoutes": {"namespaces": ANY, "kinds": ANY},
}

SPECS: Mapping[str, Mapping[str, Any]] = {
    "Gateway": {
        "gatewayClassName": ANY,
        "listeners": [LISTENER],
        "addresses": ANY,
        "infrastructure": {"annotations": ANY, "labels": ANY, "parametersRef": ANY},
        "allowedListeners": ANY,
        "tls": ANY,
    },
    "HTTPRoute": {
        "parentRefs": [PARENT_REF],
        "hostnames": ANY,
        "rules": [HTTP_ROUTE_RULE],
    },
}
