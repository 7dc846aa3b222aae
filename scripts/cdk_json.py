"""Reading and writing the lab's context in cdk.json, as `make istio-set`, `make task
APPLY=1` and `make repair` do: the file keeps its key order and two-space indent.

    python -m scripts.cdk_json repair     a new `repair` value (the time, UTC), for make repair
    python -m scripts.cdk_json stack network|cluster [--cluster NAME]
                                          the name of a stack of the lab named NAME (default:
                                          cdk.json's clusterName), for the Makefile
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from plan import facts

CDK_JSON = Path("cdk.json")


def read(path: Path = CDK_JSON) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write(document: dict[str, Any], path: Path = CDK_JSON) -> None:
    # allow_nan=False: NaN or Infinity would leave a file the CDK CLI cannot read.
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def cluster_name(path: Path = CDK_JSON) -> str:
    """cdk.json's clusterName, or the lab's default."""
    if path.is_file():
        name = read(path).get("context", {}).get("clusterName")
        if name:
            return str(name)
    return facts.DEFAULT_CLUSTER_NAME


def lab_stacks(name: str | None = None, path: Path = CDK_JSON) -> facts.LabStacks:
    """The stacks of the lab named `name`, or, without one, of cdk.json's clusterName."""
    return facts.lab_stacks(name or cluster_name(path))


def add_cluster_option(parser: argparse.ArgumentParser) -> None:
    """--cluster NAME, which every script that acts on a deployed lab takes (the Makefile's
    CLUSTER=<name>); without it, the lab is cdk.json's."""
    parser.add_argument("--cluster", help="the lab's clusterName (default: cdk.json's)")


def new_repair_value(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H-%M-%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cdk_json")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("repair", help="write a new repair value into cdk.json")
    stack = commands.add_parser("stack", help="print the name of one of the lab's stacks")
    stack.add_argument("which", choices=["network", "cluster"])
    add_cluster_option(stack)
    args = parser.parse_args(argv)
    if args.command == "stack":
        print(getattr(lab_stacks(args.cluster), args.which))
        return 0
    document = read()
    value = new_repair_value()
    document.setdefault("context", {})["repair"] = value
    write(document)
    print(f"cdk.json: repair={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
