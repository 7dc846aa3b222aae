"""The lab's entries in your kubeconfig, found before `make destroy` and removed after it.

`aws eks update-kubeconfig` (the KubeconfigCommand output) adds a cluster, a user and a
context, each named by the cluster's ARN, and makes the context current. Once the lab is
gone they point at nothing. `make destroy` runs:

    arn=$(python -m scripts.lab_kubeconfig arn)         # before: while the stack still says
    npx cdk destroy --all --force
    python -m scripts.lab_kubeconfig forget "$arn"      # after: only if the destroy succeeded

`arn` prints the cluster's ARN: the ClusterArn output of the lab's cluster stack, or, when
that stack is already gone, the ARN the lab's cluster has in the account and region of your
AWS credentials (the lab: --cluster, or cdk.json's clusterName). It prints nothing, and says
why on stderr, when neither can be read. `forget ARN` removes the cluster, user and context
named ARN from every kubeconfig file kubectl reads ($KUBECONFIG, or ~/.kube/config), unsets
current-context if it was that context, leaves every other entry as it was, and prints what
it removed. A missing kubeconfig is no error. kubectl is not needed: the files are edited directly.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from plan.facts import CLUSTER_ARN_OUTPUT, lab_stacks
from scripts.cdk_json import add_cluster_option, cluster_name

ROOT = Path(__file__).resolve().parent.parent
# kubeconfig list -> the kind of entry, as kubectl names it
SECTIONS = {"contexts": "context", "clusters": "cluster", "users": "user"}


def kubeconfig_paths(environ: dict[str, str] | None = None) -> list[Path]:
    """The files kubectl reads, in its order: $KUBECONFIG's list, or ~/.kube/config."""
    environ = os.environ if environ is None else environ
    listed = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [Path("~/.kube/config").expanduser()]


def forget(arn: str, paths: Sequence[Path], out: TextIO) -> list[str]:
    """Remove the entries named `arn` from `paths`; return one line per removed entry."""
    if not arn:
        out.write("kubeconfig: the lab's cluster ARN is unknown, so nothing was removed\n")
        return []
    removed = []
    for path in paths:
        if not path.is_file():
            out.write(f"kubeconfig: no file {path}, nothing to remove there\n")
            continue
        removed += _forget_in_file(arn, path, out)
    if not removed:
        out.write(f"kubeconfig: no entries named {arn}\n")
    return removed


def _forget_in_file(arn: str, path: Path, out: TextIO) -> list[str]:
    real = path.resolve()  # a symlinked ~/.kube/config: the file it points to is edited
    try:
        with _kubectl_lock(real):
            return _forget_locked(arn, path, real, out)
    except Locked:
        out.write(
            f"kubeconfig: {real} is locked ({real}.lock: a kubectl is writing it, or one "
            f"was interrupted); the lab is gone, remove its entries later with "
            f"`python -m scripts.lab_kubeconfig forget {arn}`\n"
        )
        return []


def _forget_locked(arn: str, path: Path, real: Path, out: TextIO) -> list[str]:
    text = real.read_text(encoding="utf-8")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        out.write(
            f"kubeconfig: {path} is not valid YAML{at}, left as it is; the lab is gone, "
            f"remove its entries named {arn} by hand\n"
        )
        return []
    if not isinstance(config, dict):
        out.write(f"kubeconfig: {path} is not a kubeconfig, left as it is\n")
        return []
    contexts = [c for c in config.get("contexts") or [] if isinstance(c, dict)]
    # The lab's contexts: the one update-kubeconfig named after the ARN, and any renamed
    # one (--alias) whose cluster is the lab's.
    going = [c for c in contexts if c.get("name") == arn or _context(c).get("cluster") == arn]
    staying = [c for c in contexts if c not in going]
    users_kept = {_context(c).get("user") for c in staying}
    users_going = ({arn} | {_context(c).get("user") for c in going}) - users_kept
    names = {
        "contexts": {c.get("name") for c in going},
        "clusters": {arn},
        "users": users_going,
    }
    removed = []
    for section, kind in SECTIONS.items():
        entries = config.get(section)
        if not isinstance(entries, list):
            continue
        kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") in names[section])]
        removed += [f"{kind} {e.get('name')}" for e in entries if e not in kept]
        config[section] = kept
    if config.get("current-context") in names["contexts"]:
        removed.append(
            f"current-context {config['current-context']} (now unset; pick one with kubectl "
            "config use-context)"
        )
        config["current-context"] = ""
    if removed:
        _write_keeping_mode(real, config)
        for line in removed:
            out.write(f"kubeconfig: removed {line} from {path}\n")
        if any(line.lstrip().startswith("#") for line in text.splitlines()):
            out.write(f"kubeconfig: the comments in {path} are not kept\n")
    return removed


def _context(entry: dict) -> dict:
    context = entry.get("context")
    return context if isinstance(context, dict) else {}


class Locked(Exception):
    """Another kubectl holds the file's lock."""


class _kubectl_lock:
    """kubectl's own lock on a kubeconfig file: `<file>.lock`, created exclusively; waited
    for a few seconds, as kubectl itself does."""

    def __init__(self, path: Path, attempts: int = 10, pause_s: float = 0.5):
        self.lock = path.with_name(path.name + ".lock")
        self.attempts, self.pause_s = attempts, pause_s

    def __enter__(self) -> None:
        for attempt in range(self.attempts):
            try:
                os.close(os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                return
            except FileExistsError:
                if attempt + 1 < self.attempts:
                    time.sleep(self.pause_s)
        raise Locked(str(self.lock))

    def __exit__(self, *exc_info) -> None:
        self.lock.unlink(missing_ok=True)


def _write_keeping_mode(path: Path, config: dict[str, Any]) -> None:
    # The file holds credentials (usually mode 600); the new one gets the same mode, and
    # replaces the old in one step so that an interruption leaves one or the other.
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=1 << 30)
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def lab_cluster_arn(session, cluster_name: str, err: TextIO) -> str:
    """The cluster's ARN from the output of the cluster stack of the lab `cluster_name`,
    or, with the stack gone, built from the caller's account, partition and region."""
    from botocore.exceptions import BotoCoreError, ClientError

    stack = lab_stacks(cluster_name).cluster
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)
        outputs = stacks["Stacks"][0].get("Outputs", [])
        for output in outputs:
            if output["OutputKey"] == CLUSTER_ARN_OUTPUT:
                return output["OutputValue"]
    except ClientError as error:
        if "does not exist" not in str(error):
            err.write(f"kubeconfig: cannot read stack {stack}: {error}\n")
            return ""
    except BotoCoreError as error:
        err.write(f"kubeconfig: cannot reach AWS ({error}); the lab's cluster ARN is unknown\n")
        return ""
    try:
        caller = session.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        err.write(f"kubeconfig: cannot tell your AWS account ({error})\n")
        return ""
    partition = caller["Arn"].split(":")[1]
    region = session.region_name
    if not region:
        err.write("kubeconfig: no AWS region is configured; the lab's cluster ARN is unknown\n")
        return ""
    return f"arn:{partition}:eks:{region}:{caller['Account']}:cluster/{cluster_name}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    arn_parser = commands.add_parser("arn", help="print the lab's cluster ARN (empty if unknown)")
    add_cluster_option(arn_parser)
    forget_parser = commands.add_parser("forget", help="remove the entries named ARN")
    forget_parser.add_argument("arn", help="the cluster ARN (empty: remove nothing)")
    args = parser.parse_args(argv)

    if args.command == "arn":
        import boto3

        # The CDK CLI honours AWS_REGION as well as the SDK's AWS_DEFAULT_REGION and profile.
        session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
        name = args.cluster or cluster_name(ROOT / "cdk.json")
        print(lab_cluster_arn(session, name, sys.stderr))
        return 0
    forget(args.arn, kubeconfig_paths(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
