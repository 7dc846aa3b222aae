"""Reading and writing the lab's context in cdk.json, as `make istio-set`, `make task
APPLY=1` and `make repair` do: the file keeps its key order and two-space indent.

    python -m scripts.cdk_json repair     a new `repair` value (the time, UTC), for make repair
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

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
    from plan.config import DEFAULTS

    return str(DEFAULTS["clusterName"])


def new_repair_value(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H-%M-%SZ")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["repair"]:
        print("usage: python -m scripts.cdk_json repair", file=sys.stderr)
        return 2
    document = read()
    value = new_repair_value()
    document.setdefault("context", {})["repair"] = value
    write(document)
    print(f"cdk.json: repair={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
