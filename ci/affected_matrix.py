"""Turn `latte affected` labels (stdin, one a line) into ci.yml's job matrices.

Prints GitHub step outputs: `tests=[...]` (packages whose tests to run) and `security=[...]`
(the same packages, plus `gitops` for the chart/Dockerfile/workflow scan), as JSON lists in
the pipeline's order. A label names its package by its first path part (`//serving:tests`),
or, at the root (`//:tests-serving`), by a word of its name. `--all` (a push to main) prints
every package. Only known package names are ever printed, whatever the labels say.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable

PACKAGES = ("contracts", "platform", "models", "serving", "loadtests")
SCANNED = (*PACKAGES, "gitops")


def affected_packages(labels: Iterable[str]) -> set[str]:
    """The packages (and `gitops`) that any of the labels belongs to."""
    found: set[str] = set()
    for raw in labels:
        label = raw.strip()
        if not label.startswith("//"):
            continue
        package, _, name = label[2:].partition(":")
        top = package.split("/")[0]
        words = {top} if top else set(re.split(r"[^a-z]+", name.lower()))
        found |= words & set(SCANNED)
    return found


def outputs(found: set[str]) -> list[str]:
    tests = [package for package in PACKAGES if package in found]
    security = [package for package in SCANNED if package in found]
    return [f"tests={json.dumps(tests)}", f"security={json.dumps(security)}"]


def main(argv: list[str]) -> int:
    if argv not in ([], ["--all"]):
        print("usage: affected_matrix.py [--all] < labels", file=sys.stderr)
        return 2
    found = set(SCANNED) if argv else affected_packages(sys.stdin)
    print("\n".join(outputs(found)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
