"""What to run on the lab for a Task page of the Istio docs (the catalog: plan/tasks.yaml).

    python -m scripts.task                       every page, with its verdict
    python -m scripts.task NAME [--tab TAB]      one page: its settings, what differs, cleanup
    python -m scripts.task NAME [--tab TAB] --apply
                                                 write the page's settings into cdk.json
    python -m scripts.task --markdown            docs/tasks.md

`make task NAME=... APPLY=1` runs --apply and then deploys the cluster stack. --apply sets
every key the catalog's pages use (ingressApi, dataplane, tracing, ...) to what this page
needs, or back to its default, and replaces the Istio settings with the page's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from checks.istio_analyzer import AnalysisError
from plan.config import ConfigError
from plan.lab_plan import plan_from_context
from plan.task_catalog import SECTIONS, CatalogError, Task, find, load, short_name, task_keys
from scripts.cdk_json import CDK_JSON, read, write

VERDICT_WORDS = {
    "runs": "runs as written",
    "settings": "runs after its lab command",
    "cannot": "cannot run on the lab",
    "reading": "a concept page, no steps",
}


def verdict(task: Task) -> str:
    """The verdict in words; a page that runs with steps that differ does not run "as written"."""
    words = VERDICT_WORDS[task.verdict]
    if task.verdict == "runs" and task.differs:
        words = "runs, with the differences below"
    if task.reason:
        words += f": {task.reason[0].lower()}{task.reason[1:]}"
    return words


def command(task: Task, tab: str | None = None) -> str:
    tab_part = f" TAB={tab}" if tab else ""
    return f"make task NAME={short_name(task)}{tab_part} APPLY=1"


def what_to_run(task: Task) -> list[str]:
    """The lines that say what the lab needs for the page and each tab with settings."""
    lines = []
    if task.settings:
        lines.append(f"`{command(task)}` (sets {task.settings.describe()})")
    for tab, settings in task.tabs.items():
        lines.append(f"{tab} tab: `{command(task, tab)}` (sets {settings.describe()})")
    return lines


def show(task: Task) -> str:
    out = [task.title, task.url, f"On the lab: {verdict(task).rstrip('.')}."]
    out += [line.replace("`", "") for line in what_to_run(task)]
    if task.differs:
        out.append("What differs on the lab:")
        out += [f"  - {line}" for line in task.differs]
    if task.cleanup:
        out.append(f"Cleanup: do not run {task.cleanup.damaging}; instead: {task.cleanup.instead}")
    return "\n".join(out)


def listing(tasks: Iterable[Task]) -> str:
    rows = [(short_name(t), VERDICT_WORDS[t.verdict].split(":")[0]) for t in tasks]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {verdict}" for name, verdict in rows)


def apply(task: Task, tab: str | None, cdk_json: Path) -> list[str]:
    """Write the page's settings into cdk.json after checking that the lab builds with
    them; the lines say what changed."""
    document = read(cdk_json)
    context = document.setdefault("context", {})
    wanted = task.context(tab)
    changed = [
        f"{key}: {json.dumps(context.get(key))} -> {json.dumps(value)}"
        for key, value in wanted.items()
        if context.get(key) != value
    ]
    plan_from_context({**context, **wanted})
    context.update(wanted)
    write(document, cdk_json)
    return changed


# --- docs/tasks.md -----------------------------------------------------------------------------

INTRO = """\
# The Istio Tasks on the lab

<!-- Generated from plan/tasks.yaml by `python -m scripts.task --markdown`; edit that file. -->

The Task pages of the Istio documentation (`docs/tasks/`, Istio 1.31) and the ambient user
guides (`docs/ambient/usage/`) assume the docs' demo install. The lab is that install on
Helm and EKS: `istio-ingressgateway` and `istio-egressgateway` in `istio-system` with the
demo profile's labels and ports, access logs on, the demo profile's extension providers,
tracing by mesh defaults, the Gateway API's CRDs, and NetworkPolicy enforced by the VPC CNI.
This page says, page by page, which pages run as written, which after one lab command, and
which cannot run and why.

The verdicts come from reading each page against the lab's plan, and the settings each page
needs are checked by the tests (every combination is synthesized and analyzed); no page was
run on a deployed lab here (no deploy can run where this project is tested).

## One page at a time

```sh
make task                                   # every page and its verdict
make task NAME=egress-control               # what to run on the lab for one page
make task NAME=egress-control APPLY=1       # set what it needs (cdk.json), deploy the cluster stack
make task NAME=request-routing TAB=gateway-api APPLY=1   # a tab that needs other settings
```

`APPLY=1` sets every key the pages below use ({task_keys}) to what the page needs or back to
its default, so a page never inherits the settings of the page before it; the next `make
deploy` keeps them.
After a change of `dataplane`, restart Bookinfo's pods ([ambient.md](ambient.md)).

## What differs everywhere

- **`INGRESS_HOST` is a hostname.** On AWS the NLB has a DNS name, not an IP:
  `.status.loadBalancer.ingress[0].ip` is empty, and the pages' hostname form
  (`.status.loadBalancer.ingress[0].hostname`) is the one to use. `INGRESS_PORT`,
  `SECURE_INGRESS_PORT` and `TCP_INGRESS_PORT` work as written (80, 443, 31400). Where a
  page needs an IP (`curl --resolve host:port:$INGRESS_HOST`, `nip.io` names), "resolve the
  NLB" after setting `INGRESS_HOST`:

  ```sh
  export INGRESS_HOST=$(dig +short "$INGRESS_HOST" | head -1)
  ```

  A fresh NLB's name takes a minute or two to resolve; a Task's own Gateway API Gateway
  gets an internet-facing NLB of its own, with the same delay.
- **No `istioctl install`.** Helm owns the install: where a page installs Istio with
  `--set` paths, its lab command sets the same paths (`make istio-set`, see the
  [README](../README.md#istio-settings)); never run a cleanup that runs `istioctl install`,
  `istioctl uninstall` or deletes `istio-system` or the Gateway API CRDs (each such page
  says what to run instead). Do install the `istioctl` CLI of the lab's Istio version: many
  checks use `istioctl proxy-config`, `istioctl x es` or `istioctl dashboard`.
- **Bookinfo's namespace** is `default` unless you set `bookinfoNamespace`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(tasks: tuple[Task, ...]) -> str:
    counts = {}
    for prefix, label in (("tasks/", "Task pages"), ("ambient/", "ambient guides")):
        group = [t for t in tasks if t.page.startswith(prefix)]
        counts[label] = (
            len(group),
            sum(t.verdict == "runs" for t in group),
            sum(t.verdict == "settings" for t in group),
            sum(t.verdict == "cannot" for t in group),
        )
    keys = ", ".join(f"`{key}`" for key in task_keys())
    out = [INTRO.replace("{task_keys}", keys), "## In numbers", ""]
    for label, (total, runs, settings, cannot) in counts.items():
        out.append(
            f"- {total} {label}: {runs} run as written, {settings} after their lab command, "
            f"{cannot} cannot run."
        )
    for section in dict.fromkeys(SECTIONS.values()):
        out += ["", f"## {section}", "", "| page | on the lab |", "| --- | --- |"]
        for task in (t for t in tasks if t.section == section):
            parts = [verdict(task).replace("the differences below", "these differences")]
            parts += what_to_run(task)
            parts += list(task.differs)
            if task.cleanup:
                parts.append(
                    f"Cleanup: not {task.cleanup.damaging}; instead {task.cleanup.instead}"
                )
            page = f"[{task.title}]({task.url}) `{short_name(task, tasks)}`"
            out.append(f"| {_cell(page)} | {_cell('. '.join(p.rstrip('.') for p in parts))}. |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="a page: the end of its path, e.g. egress-control")
    parser.add_argument("--tab", help="a tab of the page with settings of its own")
    parser.add_argument("--apply", action="store_true", help="write its settings into cdk.json")
    parser.add_argument("--markdown", action="store_true", help="print docs/tasks.md")
    parser.add_argument("--cdk-json", type=Path, default=CDK_JSON)
    args = parser.parse_args(argv)
    tasks = load()
    if args.markdown:
        sys.stdout.write(markdown(tasks))
        return 0
    if not args.name:
        if args.apply:
            print("error: --apply needs the page: make task NAME=<page> APPLY=1", file=sys.stderr)
            return 2
        print(listing(tasks))
        return 0
    try:
        task = find(args.name, tasks)
        task.settings_for(args.tab)
        if not args.apply:
            print(show(task))
            return 0
        if args.tab is None and not task.settings and task.verdict != "runs":
            raise CatalogError(f"{short_name(task)}: {VERDICT_WORDS[task.verdict]}")
        changed = apply(task, args.tab, args.cdk_json)
    except CatalogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ConfigError, AnalysisError) as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    print(show(task))
    print()
    print(f"{args.cdk_json}: " + ("; ".join(changed) if changed else "no change"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
