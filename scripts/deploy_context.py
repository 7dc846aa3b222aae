"""Who gets in: the CDK context a deploy adds when cdk.json names no allowedCidrs or no
adminPrincipals.

    python -m scripts.deploy_context       prints the `-c key=value` arguments to add (or
                                           nothing), and on stderr what they mean

The Makefile's deploying targets put what it prints on the `cdk deploy` command line:

- allowedCidrs: the public address of the machine that deploys (where kubectl, smoke and the
  browser run), as /32. It is the address AWS sees your requests come from, as
  https://checkip.amazonaws.com answers it (an AWS service; one HTTPS request, at deploy
  time only). Behind a changing address (a mobile network, a VPN that moves), deploy again
  once it has changed, or set allowedCidrs in cdk.json to a range that covers every address
  you use; ["0.0.0.0/0"] opens the lab to everyone.
- adminPrincipals: the IAM principal of your AWS credentials (sts get-caller-identity): an
  IAM user as it is, an assumed role's session as its role. The lab's cluster admin role
  then trusts that principal only; ["account"] in cdk.json trusts every principal of the
  account whose own policy allows sts:AssumeRole on it.

Exit status 1, with the line to put in cdk.json, when either cannot be found.
"""

from __future__ import annotations

import ipaddress
import re
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.cdk_json import CDK_JSON, read

CHECKIP_URL = "https://checkip.amazonaws.com"
TIMEOUT_S = 10
# arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")
_IAM_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/\S+$")


def fetch_address(url: str = CHECKIP_URL) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed https)
        return response.read(64).decode("ascii", "replace").strip()


def fetch_caller_arn() -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return boto3.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as error:
        raise OSError(str(error)) from None


def principal_of(caller_arn: str) -> str:
    """The principal a trust policy names for `caller_arn`: an IAM user as it is, an assumed
    role's session as the role (its path is not in the session's ARN; the lab's trust
    condition matches the role name under any path)."""
    principal = None
    if _IAM_USER.match(caller_arn):
        principal = caller_arn
    assumed = _ASSUMED_ROLE.match(caller_arn)
    if assumed:
        partition, account, role = assumed.groups()
        principal = f"arn:{partition}:iam::{account}:role/{role}"
    if principal and "," in principal:
        raise ValueError(f"{principal} has a ',', which the command line reads as two values")
    if principal:
        return principal
    raise ValueError(
        f"your AWS credentials are {caller_arn}, which cannot assume a role (the root user, "
        "a federated user)"
    )


def _address(fetch: Callable[[], str]) -> str:
    try:
        text = fetch().strip()
    except OSError as error:
        raise ValueError(f"cannot ask {CHECKIP_URL} for your public address ({error})") from None
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise ValueError(f"{CHECKIP_URL} answered {text[:40]!r}, not an IPv4 address") from None
    if not address.is_global:
        raise ValueError(f"{CHECKIP_URL} answered {address}, which is not a public address")
    return f"{address}/32"


def _caller(fetch: Callable[[], str]) -> str:
    try:
        return principal_of(fetch())
    except OSError as error:
        raise ValueError(f"cannot tell who your AWS credentials are ({error})") from None


# key -> (how to find it, what it means, the example for cdk.json)
FINDERS: dict[str, tuple[Callable[[Any], str], str, str]] = {
    "allowedCidrs": (
        _address,
        f"your public address as {CHECKIP_URL} sees it",
        '"allowedCidrs": ["81.2.69.160/32"] (["0.0.0.0/0"]: everyone)',
    ),
    "adminPrincipals": (
        _caller,
        "the IAM principal of your AWS credentials, the only one that may assume the "
        "lab's cluster admin role",
        '"adminPrincipals": ["arn:aws:iam::111122223333:role/Admin"] (["account"]: every '
        "principal of the account allowed sts:AssumeRole on it)",
    ),
}


def deploy_context(
    path: Path = CDK_JSON,
    address: Callable[[], str] | None = None,
    caller: Callable[[], str] | None = None,
) -> tuple[str, list[str]]:
    """(the context arguments, one line per key on what was chosen); raises ValueError with
    the reason and the cdk.json line to write when a value cannot be found. `address` and
    `caller` answer as checkip.amazonaws.com and STS do (tests give fakes)."""
    context = read(path).get("context", {}) if path.is_file() else {}
    fetchers = {
        "allowedCidrs": address or fetch_address,
        "adminPrincipals": caller or fetch_caller_arn,
    }
    arguments, said = [], []
    for key, (find, meaning, example) in FINDERS.items():
        if context.get(key):
            said.append(f"{key} from {path}: {context[key]}")
            continue
        try:
            value = find(fetchers[key])
        except ValueError as problem:
            raise ValueError(f"{problem}; set {key} in {path}, e.g. {example}") from None
        arguments.append(f"-c {key}={value}")
        said.append(f"{key}: {value}, {meaning} (set {key} in {path} to choose)")
    return " ".join(arguments), said


def main(argv: list[str] | None = None) -> int:
    if argv:
        print("usage: python -m scripts.deploy_context", file=sys.stderr)
        return 2
    try:
        arguments, said = deploy_context()
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    for line in said:
        print(line, file=sys.stderr)
    print(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
