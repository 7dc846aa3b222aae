"""The Kubernetes Gateway API's CRDs as the lab installs them: the files of one channel of the
pinned release, each with the sha256 of its content."""

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
    channel: str = "standard"

    @property
    def crds(self) -> tuple[str, ...]:
        return tuple(o.split("/", 1)[1] for o in self.objects if o.startswith("crd/"))

    def url(self, version: str) -> str:
        return facts.GATEWAY_API_SOURCE.format(
            version=version, channel=self.channel, file=self.file
        )


def _crd(
    resource: str, sha256: str, channel: str = "standard", group: str = facts.GATEWAY_API_GROUP
) -> PinnedFile:
    return PinnedFile(f"{group}_{resource}.yaml", sha256, (f"crd/{resource}.{group}",), channel)


# The admission policy both channels ship: it refuses a CRD of the experimental channel over
# one of the standard channel, and bundles it deems too old. Every apply deletes it first;
# the files create it again.
SAFE_UPGRADES = (
    f"validatingadmissionpolicybinding/safe-upgrades.{facts.GATEWAY_API_GROUP}",
    f"validatingadmissionpolicy/safe-upgrades.{facts.GATEWAY_API_GROUP}",
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
        SAFE_UPGRADES,
    ),
)


def _experimental(resource: str, sha256: str, group: str = facts.GATEWAY_API_GROUP) -> PinnedFile:
    return _crd(resource, sha256, "experimental", group)


# The experimental channel's files, as its kustomization.yaml lists them (the same CRDs with
# their alpha versions served, e.g. TCPRoute v1alpha2, and two CRDs of the x-k8s.io group);
# sha256 as above, of config/crd/experimental/<file> at v1.6.1.
EXPERIMENTAL_CHANNEL: tuple[PinnedFile, ...] = (
    _experimental(
        "backendtlspolicies", "7fa88a1a7d5f13f8a960e8bd48903835a0b833e0f6706f401101a27ff36aff3b"
    ),
    _experimental(
        "gatewayclasses", "ff653735d0477f97fb3cb2a21245f55ac6996dfe4f39969150f6989d0f1da826"
    ),
    _experimental("gateways", "97092d53c4f61a9d1754f608ad1dc85566e197facb35d629132ff08954bd4422"),
    _experimental("grpcroutes", "edfefc338093cdef9e0e4832c8286792934d76724c41a80eee22a1be73c132c6"),
    _experimental("httproutes", "a3615d380381a768edbca2cfec067c037afa82e86bc9b1e29a0b84c8a28d76b3"),
    _experimental(
        "listenersets", "e201afb91dc7c9a4e2b101243639a2b08fe6863f43a83921f97a5ca823ef6a2f"
    ),
    _experimental(
        "referencegrants", "e1d9a270f94895640db547421dfa708db2ae935a1a8c033a6cf6481274f5029e"
    ),
    _experimental("tcproutes", "0db798d0997a254120de668fdfb1a536c296e7e99c0a20e1004bc5f6fc7d213f"),
    _experimental("tlsroutes", "c7fcddb73966fc83ad7001eff8bb910d8a640c7c1f280254e88b93541fc9a82b"),
    _experimental("udproutes", "5832d701ebe3330dc3b033dfe6aa54bff2d565939ad6e6dc2722dbe2ea1e35fb"),
    PinnedFile(
        f"{facts.GATEWAY_API_GROUP}_vap_safeupgrades.yaml",
        "0d286059670490d68d11196604258979e0925d74d66de417b4a1a625d7cdeb00",
        SAFE_UPGRADES,
        "experimental",
    ),
    _experimental(
        "xbackendtrafficpolicies",
        "acdac07f15b3c46bfdfaded9cc2f2d654e353b340955ee559d58a86c6afebbee",
        facts.GATEWAY_API_EXPERIMENTAL_GROUP,
    ),
    _experimental(
        "xmeshes",
        "56be828232d98b59ded8bee49e1430623551c34cf4395a59fb97d502d9fc8b42",
        facts.GATEWAY_API_EXPERIMENTAL_GROUP,
    ),
)

CHANNELS = {"standard": STANDARD_CHANNEL, "experimental": EXPERIMENTAL_CHANNEL}


@dataclass(frozen=True)
class GatewayApiRelease:
    """The release the lab installs: its tag, channel and pinned files."""

    version: str = facts.GATEWAY_API_VERSION
    channel: str = "standard"

    @property
    def files(self) -> tuple[PinnedFile, ...]:
        return CHANNELS[self.channel]

    @property
    def replaces(self) -> tuple[str, ...]:
        """What is deleted before the files are applied, every time: the safe-upgrades
        policy and its binding. It refuses experimental CRDs over standard ones (a switch of
        channel) and CRDs of a bundle it deems older (a rollback to an earlier pin, as
        CloudFormation does when a later resource of the same update fails). The files
        create it again, after the CRDs (it is the last file of either channel)."""
        return SAFE_UPGRADES

    @property
    def istiod_env(self) -> dict[str, str]:
        """istiod's switch for the alpha kinds, as the Istio docs set it with the
        experimental CRDs."""
        if self.channel == "experimental":
            return {"PILOT_ENABLE_ALPHA_GATEWAY_API": "true"}
        return {}
