"""The Kubernetes Gateway API's CRDs as the lab installs them: the standard channel's files of
the pinned release, each with the sha256 of its content."""

from __future__ import annotations

from dataclasses import dataclass

from plan import facts


@dataclass(frozen=True)
class PinnedFile:
    """One file of the release: its name, the sha256 of its content, and the objects in it
    (as `kubectl delete` names them)."""

    file: str
    sha256: str
    objects: tuple[str, ...]

    @property
    def crds(self) -> tuple[str, ...]:
        return tuple(o.split("/", 1)[1] for o in self.objects if o.startswith("crd/"))

    def url(self, version: str) -> str:
        return facts.GATEWAY_API_SOURCE.format(version=version, file=self.file)


def _crd(resource: str, sha256: str) -> PinnedFile:
    return PinnedFile(
        f"{facts.GATEWAY_API_GROUP}_{resource}.yaml",
        sha256,
        (f"crd/{resource}.{facts.GATEWAY_API_GROUP}",),
    )


# The standard channel's files, as the release's standard-install.yaml concatenates them;
# each sha256 is that of the file at the tag (computed from the gateway-api repository's
# v1.6.1 tree: `git show v1.6.1:config/crd/standard/<file> | sha256sum`).
STANDARD_CHANNEL: tuple[PinnedFile, ...] = (
    _crd("backendtlspolicies", "0d48c9e4b53dd9510cf615b9b1192d9d7afb07a1cc0498c9515627cb1c075419"),
    _crd("gatewayclasses", "53710048ba26f8620eed59d5e51b157ecf040daf5c6eef31a4b991e0808c4be5"),
    _crd("gateways", "25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a"),
    _crd("grpcroutes", "53a8d029da8f07e55d3fa58a5cf6de5950dab19fbb8d6a8082fb5e51ca5ef6fc"),
    _crd("httproutes", "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852"),
    _crd("listenersets", "bf4d4b02564999b2558b96e31465129895db9b3a8adfb90adb9c80eac52a3a70"),
    _crd("referencegrants", "8c645e9333cfa67790cc2a53e0c00076f88b2bd4230d2b49688c78bc34f9b2c3"),
    _crd("tcproutes", "d5104d0cf30e924f5e3c9e2e76abd46876401c34ca33b9e79321523eee78c7f6"),
    _crd("tlsroutes", "bb8b67926e5d9652cbfd2e19063b7c1d9e78806c9dd671608f57baef2f2e3bbb"),
    _crd("udproutes", "4b80684c2bf8ef4b0a2a3ab45164ac9f96258fc69912645ff50ced595b0aa6de"),
    PinnedFile(
        f"{facts.GATEWAY_API_GROUP}_vap_safeupgrades.yaml",
        "afb0ea1b3cc2e9344d93b0926fbe741aeb48ab4439f9f7b4b77b9ac94faf6c2e",
        (
            f"validatingadmissionpolicybinding/safe-upgrades.{facts.GATEWAY_API_GROUP}",
            f"validatingadmissionpolicy/safe-upgrades.{facts.GATEWAY_API_GROUP}",
        ),
    ),
)


@dataclass(frozen=True)
class GatewayApiRelease:
    """The release the lab installs: its tag and pinned files."""

    version: str = facts.GATEWAY_API_VERSION
    files: tuple[PinnedFile, ...] = STANDARD_CHANNEL
