"""The CI workflows in ci/workflows parse and name only real nox sessions."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((REPO / "ci" / "workflows").glob("*.yml"))
NOX_SESSION = re.compile(r"nox\s+(?:-\S+\s+)*-s\s+(\"[^\"]+\"|'[^']+'|\S+)")


def _nox_sessions() -> set[str]:
    # `nox -l --json` lists only the default sessions; the text listing has every one
    # ("* name -> doc" when selected by default, "- name -> doc" otherwise).
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(REPO / "noxfile.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    names = set()
    for line in listing.stdout.splitlines():
        if line[:2] in {"* ", "- "}:
            session = line[2:].split()[0]
            names.add(session)
            names.add(session.split("(")[0])
    return names


def _run_lines(workflow: dict) -> list[str]:
    """Every run command, with ${{ matrix.X }} expanded for each value of the job's matrix."""
    lines = []
    for job in workflow["jobs"].values():
        matrix = job.get("strategy", {}).get("matrix", {})
        for step in job.get("steps", []):
            if "run" in step:
                lines.extend(_expand(step["run"], matrix))
    return lines


def _expand(command: str, matrix: dict) -> list[str]:
    commands = [command]
    for key, values in matrix.items():
        marker = "${{ matrix." + key + " }}"
        commands = [c.replace(marker, str(v)) for c in commands for v in values]
    return commands


def _named_sessions(command: str) -> list[str]:
    found = []
    for match in NOX_SESSION.finditer(command):
        (token,) = shlex.split(match.group(1))
        found.append(token)
    return found


def test_there_is_a_workflow():
    assert WORKFLOWS, "ci/workflows holds no *.yml"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses_and_names_real_sessions(path):
    workflow = YAML(typ="safe").load(path.read_text())
    assert {"name", "on", "jobs"} <= set(workflow)
    sessions = _nox_sessions()
    named = [s for line in _run_lines(workflow) for s in _named_sessions(line)]
    assert named, f"{path.name} calls no nox session"
    for session in named:
        assert session in sessions, f"{path.name} runs unknown nox session {session!r}"


def test_matrix_values_are_expanded():
    assert _expand("nox -s t(p='${{ matrix.p }}')", {"p": ["a", "b"]}) == [
        "nox -s t(p='a')",
        "nox -s t(p='b')",
    ]


def test_session_regex_reads_quoted_and_plain_forms():
    assert _named_sessions("nox -s lint") == ["lint"]
    assert _named_sessions("nox -s \"tests(package='x')\"") == ["tests(package='x')"]
