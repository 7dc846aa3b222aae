"""The lab's Istio settings in cdk.json, the way `istioctl install --set` writes them.

    python -m scripts.istio_settings set 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY' ...
    python -m scripts.istio_settings unset [PATH ...]     (no PATH: every setting)
    python -m scripts.istio_settings show

`set` and `unset` check the result as a synth would (the field table of the configured Istio
minor, the paths the lab keeps) and write cdk.json's `istio` key only when it passes; `make
istio-set` and `make istio-unset` then deploy the cluster stack. Exit status 2 and one line
per problem when something is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from plan import facts
from plan.config import DEFAULTS
from plan.istio_settings import (
    IstioSettings,
    Schema,
    SettingsError,
    parse_path,
    with_assignments,
    without_path,
)
from scripts.cdk_json import CDK_JSON, read, write


def minor_of(context: dict[str, Any]) -> str:
    """The Istio minor whose field table checks the settings; one line when there is none."""
    version = str(context.get("istioVersion", DEFAULTS["istioVersion"]))
    minor = ".".join(version.split(".")[:2])
    if minor not in facts.SUPPORTED_ISTIO_MINORS:
        raise SettingsError(
            [
                f"context istioVersion={version!r}: the lab knows the fields of Istio "
                f"{', '.join(facts.SUPPORTED_ISTIO_MINORS)} only"
            ]  # fmt: skip
        )
    return minor


def current(context: dict[str, Any]) -> dict[str, Any]:
    """What cdk.json's `istio` holds now, checked as a synth checks it."""
    return IstioSettings.parse(context.get("istio", {}), minor_of(context)).tree


def set_paths(context: dict[str, Any], assignments: list[str]) -> IstioSettings:
    minor = minor_of(context)
    tree = with_assignments(current(context), assignments, Schema.of(minor))
    return IstioSettings.parse(tree, minor)


def unset_paths(context: dict[str, Any], paths: list[str]) -> IstioSettings:
    tree = current(context)
    if not paths:
        tree = {}
    for text in paths:
        tree = without_path(tree, parse_path(text))
    return IstioSettings.parse(tree, minor_of(context))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdk-json", type=Path, default=CDK_JSON)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("set").add_argument("assignments", nargs="+", metavar="PATH=VALUE")
    commands.add_parser("unset").add_argument("paths", nargs="*", metavar="PATH")
    commands.add_parser("show")
    args = parser.parse_args(argv)

    document = read(args.cdk_json)
    context = document.setdefault("context", {})
    try:
        if args.command == "show":
            settings = IstioSettings.parse(current(context), minor_of(context))
        else:
            if args.command == "set":
                settings = set_paths(context, args.assignments)
            else:
                settings = unset_paths(context, args.paths)
            context["istio"] = settings.tree
            write(document, args.cdk_json)
    except SettingsError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    lines = settings.paths() if settings else ["(none: the lab's own Istio settings)"]
    print(f"Istio settings in {args.cdk_json}:")
    for line in lines:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
