"""A kubectl for the doctor's tests: `get` lists the objects of a recorded state (a JSON file
of resource -> items) as kubectl does, filtered by -n and -l; a resource the state lacks is
one the API server does not serve. FAKE_STDERR makes every call fail with that message."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPT = """#!{python}
import json, os, sys
if os.environ.get("FAKE_STDERR"):
    print(os.environ["FAKE_STDERR"], file=sys.stderr)
    sys.exit(1)
args = sys.argv[1:]
state = json.load(open({state!r}))
resource = args[args.index("get") + 1]
if resource not in state:
    print('error: the server doesn\\'t have a resource type "%s"' % resource, file=sys.stderr)
    sys.exit(1)
items = state[resource]
if "-n" in args:
    items = [i for i in items if i["metadata"].get("namespace") == args[args.index("-n") + 1]]
if "-l" in args:
    key, value = args[args.index("-l") + 1].split("=")
    items = [i for i in items if i["metadata"].get("labels", {{}}).get(key) == value]
print(json.dumps({{"items": items}}))
"""


def install(directory: Path, state: dict) -> Path:
    """Writes `kubectl` and the state it serves into `directory`; returns the script."""
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / "state.json"
    state_file.write_text(json.dumps(state), encoding="utf-8")
    script = directory / "kubectl"
    script.write_text(SCRIPT.format(python=sys.executable, state=str(state_file)), "utf-8")
    script.chmod(0o755)
    return script
