"""Print what `cdk synth` produced: each stack, its template and its resource count."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize(cloud_assembly: Path) -> list[str]:
    manifest = json.loads((cloud_assembly / "manifest.json").read_text(encoding="utf-8"))
    lines = []
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_path = cloud_assembly / artifact["properties"]["templateFile"]
        template = json.loads(template_path.read_text(encoding="utf-8"))
        nested = [
            resource
            for resource in template.get("Resources", {}).values()
            if resource["Type"] == "AWS::CloudFormation::Stack"
        ]
        note = f" (+{len(nested)} nested stacks)" if nested else ""
        lines.append(
            f"  {name:<24} {template_path}  {len(template.get('Resources', {}))} resources{note}"
        )
    return lines


def main(argv: list[str]) -> int:
    cloud_assembly = Path(argv[1] if len(argv) > 1 else "cdk.out")
    lines = summarize(cloud_assembly)
    if not lines:
        print(f"error: no stack templates in {cloud_assembly}", file=sys.stderr)
        return 1
    print("Synthesized stacks:")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
