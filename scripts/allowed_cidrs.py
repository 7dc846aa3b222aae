"""Who may reach the lab: the CDK context for a deploy when cdk.json names no allowedCidrs.

    python -m scripts.allowed_cidrs        prints `-c allowedCidrs=<your address>/32`, or
                                           nothing when cdk.json sets allowedCidrs

The Makefile's deploying targets put what it prints on the `cdk deploy` command line, so the
ingress NLB and the cluster's public endpoint take connections from the machine that deploys
(where kubectl, smoke and the browser run) and from nowhere else. The address is the one
AWS sees your requests come from, as https://checkip.amazonaws.com answers it (an AWS
service; one HTTPS request, at deploy time only). Behind a changing address (a mobile
network, a VPN that moves), run the deploy again once it has changed, or set allowedCidrs in
cdk.json to a range that covers every address you use; ["0.0.0.0/0"] opens the lab to
everyone. Exit status 1, with the line to put in cdk.json, when the address cannot be found.
"""

from __future__ import annotations

import ipaddress
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from scripts.cdk_json import CDK_JSON, read

CHECKIP_URL = "https://checkip.amazonaws.com"
TIMEOUT_S = 10


def fetch_address(url: str = CHECKIP_URL) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed https)
        return response.read(64).decode("ascii", "replace").strip()


def deploy_context(
    path: Path = CDK_JSON, fetch: Callable[[], str] | None = None
) -> tuple[str, str]:
    """(the context arguments, what to tell the learner); raises ValueError with the reason
    when the address cannot be found."""
    configured = read(path).get("context", {}).get("allowedCidrs") if path.is_file() else None
    if configured:
        return "", f"allowedCidrs from {path}: {configured}"
    try:
        text = (fetch or fetch_address)().strip()
    except OSError as error:
        raise ValueError(f"cannot ask {CHECKIP_URL} for your public address ({error})") from None
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise ValueError(f"{CHECKIP_URL} answered {text[:40]!r}, not an IPv4 address") from None
    if not address.is_global:
        raise ValueError(f"{CHECKIP_URL} answered {address}, which is not a public address")
    return (
        f"-c allowedCidrs={address}/32",
        f"allowedCidrs: {address}/32, your public address as {CHECKIP_URL} sees it (set "
        f"allowedCidrs in {path} to choose others)",
    )


def main(argv: list[str] | None = None) -> int:
    if argv:
        print("usage: python -m scripts.allowed_cidrs", file=sys.stderr)
        return 2
    try:
        arguments, said = deploy_context()
    except ValueError as problem:
        print(
            f"error: {problem}; set allowedCidrs in cdk.json to the addresses that may reach "
            'the lab, e.g. "allowedCidrs": ["81.2.69.160/32"] (["0.0.0.0/0"]: everyone)',
            file=sys.stderr,
        )
        return 1
    print(said, file=sys.stderr)
    print(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
