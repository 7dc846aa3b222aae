"""The lab's configuration: every context key, its default, and its validation.

app.py hands over the raw context values; `LabConfig.from_context` returns a frozen,
validated object or raises `ConfigError` listing every bad value, one line each, so the user
fixes them all in one round. Combinations of valid values that cannot work together are the
plan's to refuse (plan/lab_plan.py), in the same form.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plan import facts, modes
from plan.capacity import INSTANCE_TYPES
from plan.gateway_api import CHANNELS as GATEWAY_API_CHANNELS
from plan.istio_settings import IstioSettings, SettingsError
from plan.problems import ConfigError
from plan.scenarios import SCENARIOS


@dataclass(frozen=True)
class KubernetesRelease:
    """An EKS Kubernetes version together with the kubectl/helm layer built for it, named by
    its Python module and class: the layer's package is imported only for the version in use
    (loading one means unpacking its jsii assembly, about 37 MB)."""

    version: str
    layer_module: str
    layer_class: str


# Every version here must have its layer package pinned in requirements.txt. On 2026-12-01
# EKS creates 1.32 and newer (1.31's extended support ended on 2026-11-26 in EKS's release
# calendar), and Istio 1.31 needs at least 1.32 (istioctl/pkg/install/k8sversion). The lab
# offers the two versions aws-cdk-lib 2.275 has kubectl layers for. The default is 1.35: in
# EKS standard support until 2027-03-27 and released well before Istio 1.31, whose support
# of 1.36 (on EKS since June 2026) could not be checked here.
SUPPORTED_KUBERNETES: Mapping[str, KubernetesRelease] = {
    "1.35": KubernetesRelease("1.35", "aws_cdk.lambda_layer_kubectl_v35", "KubectlV35Layer"),
    "1.36": KubernetesRelease("1.36", "aws_cdk.lambda_layer_kubectl_v36", "KubectlV36Layer"),
}

CAPACITY_TYPES = ("ON_DEMAND", "SPOT")

MIN_NODES, MAX_NODES = 1, 10
# An NLB's security group gets one inbound rule per allowed CIDR and listener (the demo
# profile's five ports), and a security group holds 60 by default.
MAX_ALLOWED_CIDRS = 10
# EKS's control plane log types (aws_eks_v2.ClusterLoggingTypes).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# adminPrincipals' word for "every principal of the account" (the lab's trust before the key).
WHOLE_ACCOUNT = "account"
AVAILABILITY_ZONES = 2
# One NAT gateway per AZ at most; 1 is the cheap lab default (one shared egress).
MAX_NAT_GATEWAYS = AVAILABILITY_ZONES

# The defaults live in cdk.json; these are used when a key is absent (e.g. a test app).
DEFAULTS: Mapping[str, Any] = {
    "clusterName": facts.DEFAULT_CLUSTER_NAME,
    "kubernetesVersion": "1.35",
    "istioVersion": "1.31.4",
    "scenario": "round-robin",
    "ingressApi": "istio",
    "dataplane": "sidecar",
    "bookinfoNamespace": "default",
    "vpcCidr": "10.0.0.0/16",
    "allowedCidrs": [],
    "adminPrincipals": [],
    "controlPlaneLogs": ["audit", "authenticator"],
    "kialiWizards": False,
    "natGateways": 1,
    "nodeInstanceType": "m5.large",
    "nodeCount": 2,
    "nodeCapacityType": "ON_DEMAND",
    "tracing": "jaeger",
    "tracingSampling": 100,
    "gatewayApiChannel": "standard",
    "istio": {},
    "repair": "",
    "nag": False,
}

# An EKS cluster name (at most 100 characters) that is also the start of a CloudFormation
# stack name: a letter first, no '_'.
_CLUSTER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,99}$")
# An IAM role or user ARN, with or without a path.
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_REPAIR = re.compile(r"^[A-Za-z0-9._:-]{0,64}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# family + generation + optional attributes, a dot, a size: m5.large, c7gn.2xlarge, m7i-flex.large
_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[0-9]*(nano|micro|small|medium|large|xlarge|metal)(-[0-9]+xl)?$"
)


@dataclass(frozen=True)
class LabConfig:
    cluster_name: str
    kubernetes_version: str
    istio_version: str
    scenario: str
    ingress_api: str
    dataplane: str
    bookinfo_namespace: str
    vpc_cidr: str
    # Who may reach the ingress NLB and the cluster's public endpoint; empty: nobody outside
    # the VPC (`make deploy` gives the learner's own address when cdk.json sets none).
    allowed_cidrs: tuple[str, ...]
    # Who may assume the cluster admin role: IAM role or user ARNs, ("account",) for every
    # principal of the account, or nobody when empty (`make deploy` gives the deployer's).
    admin_principals: tuple[str, ...]
    # The EKS control plane logs written to /aws/eks/<clusterName>/cluster (a log group of
    # the cluster stack); empty: none.
    control_plane_logs: tuple[str, ...]
    # Kiali's wizards (it writes Istio configuration); view-only without them.
    kiali_wizards: bool
    nat_gateways: int
    node_instance_type: str
    node_count: int
    node_capacity_type: str
    tracing: str
    tracing_sampling: float
    gateway_api_channel: str
    istio: IstioSettings
    repair: str
    nag: bool

    def context_values(self) -> dict[str, Any]:
        """The configuration by context key, as `from_context` resolved it."""
        values = {key: getattr(self, snake_case(key)) for key in DEFAULTS}
        values["istio"] = self.istio.tree
        return values

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> LabConfig:
        """Validate the lab's context keys; absent keys take `DEFAULTS`.

        `context` may be the app's whole context: keys with a ':' or starting with '@' belong
        to the CDK (feature flags, lookups, CLI settings); any other key must be the lab's.
        """
        values = {key: context.get(key, default) for key, default in DEFAULTS.items()}
        problems = [_unknown_key_problem(key) for key in _unknown_keys(context)]

        # Problems name each value as given, before any reading of command-line strings.
        given = dict(values)

        def check(key: str, ok: bool, expectation: str) -> None:
            if not ok:
                problems.append(f"context {key}={given[key]!r}: {expectation}")

        name = values["clusterName"]
        check(
            "clusterName",
            isinstance(name, str) and bool(_CLUSTER_NAME.match(name)),
            "expected 1-100 letters, digits or '-', starting with a letter: it names the EKS "
            "cluster and the lab's stacks (<clusterName>-Network, <clusterName>-Cluster)",
        )
        check(
            "clusterName",
            not isinstance(name, str) or name.lower() != facts.DEFAULT_STACK_PREFIX.lower(),
            f"{facts.DEFAULT_STACK_PREFIX}-Network and -Cluster are the stacks of the default "
            f"lab ({facts.DEFAULT_CLUSTER_NAME}); choose another name",
        )

        check(
            "kubernetesVersion",
            values["kubernetesVersion"] in SUPPORTED_KUBERNETES,
            f"supported versions are {', '.join(SUPPORTED_KUBERNETES)}",
        )

        istio = values["istioVersion"]
        semver = _SEMVER.match(istio) if isinstance(istio, str) else None
        check("istioVersion", semver is not None, "expected a release number x.y.z, e.g. 1.31.4")
        if semver:
            minor = f"{semver[1]}.{semver[2]}"
            check(
                "istioVersion",
                minor in facts.SUPPORTED_ISTIO_MINORS,
                f"supported Istio minors are {', '.join(facts.SUPPORTED_ISTIO_MINORS)}",
            )

        check(
            "scenario",
            values["scenario"] in SCENARIOS,
            f"valid scenarios are {', '.join(SCENARIOS)}",
        )

        check(
            "ingressApi",
            values["ingressApi"] in modes.INGRESS_APIS,
            f"valid ingress APIs are {', '.join(modes.INGRESS_APIS)}",
        )

        check(
            "dataplane",
            values["dataplane"] in modes.DATAPLANES,
            f"valid data planes are {', '.join(modes.DATAPLANES)}",
        )

        namespace = values["bookinfoNamespace"]
        check(
            "bookinfoNamespace",
            isinstance(namespace, str)
            and bool(_DNS_LABEL.match(namespace))
            and not namespace.startswith("kube-")
            and namespace not in modes.RESERVED_NAMESPACES,
            "expected a Kubernetes namespace name (lowercase DNS label) that is not "
            f"kube-*, {' or '.join(modes.RESERVED_NAMESPACES)}",
        )

        check("vpcCidr", _is_vpc_cidr(values["vpcCidr"]), "expected an IPv4 CIDR /16 to /24")

        values["allowedCidrs"] = _as_string_list(values["allowedCidrs"])
        allowed = values["allowedCidrs"]
        check(
            "allowedCidrs",
            isinstance(allowed, tuple) and all(map(_is_public_cidr, allowed)),
            "expected a list of IPv4 CIDRs such as 81.2.69.160/32 (host bits zero), each "
            'public or 0.0.0.0/0, e.g. ["81.2.69.160/32"] or -c allowedCidrs=81.2.69.160/32',
        )
        check(
            "allowedCidrs",
            not isinstance(allowed, tuple) or len(allowed) <= MAX_ALLOWED_CIDRS,
            f"at most {MAX_ALLOWED_CIDRS}: each is a rule per NLB listener in one security group",
        )

        values["controlPlaneLogs"] = _as_string_list(values["controlPlaneLogs"])
        logs = values["controlPlaneLogs"]
        check(
            "controlPlaneLogs",
            isinstance(logs, tuple)
            and set(logs) <= set(CONTROL_PLANE_LOG_TYPES)
            and len(set(logs)) == len(logs),
            f"expected some of {', '.join(CONTROL_PLANE_LOG_TYPES)}, each once (or [] for none)",
        )

        values["adminPrincipals"] = _as_string_list(values["adminPrincipals"])
        admins = values["adminPrincipals"]
        check(
            "adminPrincipals",
            isinstance(admins, tuple)
            and (admins == (WHOLE_ACCOUNT,) or all(map(_PRINCIPAL_ARN.match, admins))),
            "expected IAM role or user ARNs such as arn:aws:iam::111122223333:role/Admin, or "
            f'["{WHOLE_ACCOUNT}"] alone for every principal of the account',
        )

        for key, low, high in (
            ("natGateways", 1, MAX_NAT_GATEWAYS),
            ("nodeCount", MIN_NODES, MAX_NODES),
        ):
            values[key] = _as_int(values[key])
            check(
                key,
                type(values[key]) is int and low <= values[key] <= high,
                f"expected a whole number from {low} to {high}",
            )

        instance_type = values["nodeInstanceType"]
        looks_like_a_type = isinstance(instance_type, str) and bool(
            _INSTANCE_TYPE.match(instance_type)
        )
        check(
            "nodeInstanceType", looks_like_a_type, "expected an EC2 instance type such as m5.large"
        )
        if looks_like_a_type:
            # The capacity check needs the type's facts; only the table's are known offline.
            check(
                "nodeInstanceType",
                instance_type in INSTANCE_TYPES,
                f"the capacity check knows {', '.join(INSTANCE_TYPES)}",
            )

        check(
            "nodeCapacityType",
            values["nodeCapacityType"] in CAPACITY_TYPES,
            f"expected one of {', '.join(CAPACITY_TYPES)}",
        )

        check(
            "tracing",
            values["tracing"] in modes.TRACING,
            f"valid tracing backends are {', '.join(modes.TRACING)}",
        )

        values["tracingSampling"] = _as_number(values["tracingSampling"])
        sampling = values["tracingSampling"]
        check(
            "tracingSampling",
            type(sampling) in (int, float) and 0 <= sampling <= 100,
            "expected a sampling percentage from 0 to 100",
        )

        check(
            "gatewayApiChannel",
            values["gatewayApiChannel"] in GATEWAY_API_CHANNELS,
            f"valid channels are {', '.join(GATEWAY_API_CHANNELS)}",
        )

        # Checked against the field table of the Istio minor in use; without a valid
        # istioVersion there is no table to check against (that key's problem is reported).
        settings = IstioSettings()
        if semver and f"{semver[1]}.{semver[2]}" in facts.SUPPORTED_ISTIO_MINORS:
            try:
                settings = IstioSettings.parse(values["istio"], f"{semver[1]}.{semver[2]}")
            except SettingsError as error:
                problems.extend(error.problems)

        check(
            "repair",
            isinstance(values["repair"], str) and bool(_REPAIR.match(values["repair"])),
            "expected up to 64 letters, digits, '.', ':', '_' or '-' (make repair sets it)",
        )

        values["kialiWizards"] = _as_bool(values["kialiWizards"])
        check("kialiWizards", isinstance(values["kialiWizards"], bool), "expected true or false")

        values["nag"] = _as_bool(values["nag"])
        check("nag", isinstance(values["nag"], bool), "expected true or false")

        if problems:
            raise ConfigError(problems)
        return cls(
            cluster_name=name,
            kubernetes_version=values["kubernetesVersion"],
            istio_version=istio,
            scenario=values["scenario"],
            ingress_api=values["ingressApi"],
            dataplane=values["dataplane"],
            bookinfo_namespace=namespace,
            vpc_cidr=values["vpcCidr"],
            allowed_cidrs=allowed,
            admin_principals=admins,
            control_plane_logs=logs,
            kiali_wizards=values["kialiWizards"],
            nat_gateways=values["natGateways"],
            node_instance_type=instance_type,
            node_count=values["nodeCount"],
            node_capacity_type=values["nodeCapacityType"],
            tracing=values["tracing"],
            tracing_sampling=float(values["tracingSampling"]),
            gateway_api_channel=values["gatewayApiChannel"],
            istio=settings,
            repair=values["repair"],
            nag=values["nag"],
        )


def snake_case(key: str) -> str:
    """A camelCase name in snake_case: the LabConfig field of a context key
    (tracingSampling -> tracing_sampling), or an EKS log type's constant in aws-cdk-lib
    (controllerManager -> CONTROLLER_MANAGER, upper-cased)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _unknown_keys(context: Mapping[str, Any]) -> list[str]:
    return sorted(
        key for key in context if ":" not in key and not key.startswith("@") and key not in DEFAULTS
    )


def _unknown_key_problem(key: str) -> str:
    close = difflib.get_close_matches(key, DEFAULTS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"known keys are {', '.join(DEFAULTS)}"
    return f"context {key}: unknown key; {hint}"


def _as_bool(value: Any) -> Any:
    """`-c nag=true` arrives as the string "true"; cdk.json gives a JSON boolean."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _as_int(value: Any) -> Any:
    """Context given with `-c key=3` arrives as the string "3"; cdk.json gives an int."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _as_number(value: Any) -> Any:
    """`-c tracingSampling=12.5` arrives as the string "12.5"; cdk.json gives a number."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def _as_string_list(value: Any) -> Any:
    """cdk.json gives a JSON list; `-c key=a,b` a string (a JSON list, or commas)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return value
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return value


def _is_public_cidr(value: str) -> bool:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    return network.prefixlen == 0 or network.is_global


def _is_vpc_cidr(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    return 16 <= network.prefixlen <= 24
