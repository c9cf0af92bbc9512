"""The CI workflows in ci/workflows: real nox sessions, affected-only PRs, cache trust, releases."""

import importlib.util
import re
import shlex
import shutil
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


def _load_ci_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_lines(workflow: dict) -> list[str]:
    """Every run command, with ${{ matrix.X }} expanded for each value of the job's matrix.

    A step's `$NAME` from its own `env:` is replaced by the value there first; a matrix computed
    by ci/affected_matrix.py (`fromJSON(needs.affected.outputs.X)`) takes every name it can print.
    """
    lines = []
    for job in workflow["jobs"].values():
        matrix = _static_matrix(job.get("strategy", {}).get("matrix", {}))
        for step in job.get("steps", []):
            if "run" in step:
                command = step["run"]
                for name, value in (step.get("env") or {}).items():
                    command = command.replace(f"${name}", str(value))
                lines.extend(_expand(command, matrix))
    return lines


def _static_matrix(matrix: dict) -> dict:
    script = _load_ci_script("affected_matrix")
    printed = {"tests": list(script.PACKAGES), "security": list(script.SCANNED)}
    static = {}
    for key, values in matrix.items():
        found = re.search(r"needs\.affected\.outputs\.(\w+)", str(values))
        static[key] = printed[found.group(1)] if found else values
    return static


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


def _workflow(name: str) -> dict:
    return YAML(typ="safe").load((REPO / "ci" / "workflows" / name).read_text())


def test_every_action_is_pinned_to_a_commit():
    for path in WORKFLOWS:
        for job in YAML(typ="safe").load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), (
                        f"{path.name}: {step['uses']} is not pinned to a commit"
                    )


def test_pull_requests_run_only_the_affected_packages():
    ci = _workflow("ci.yml")
    script = "\n".join(step.get("run", "") for step in ci["jobs"]["affected"]["steps"])
    assert 'latte affected --base "origin/$BASE"' in script
    assert "ci/affected_matrix.py" in script
    for job in ("tests", "security"):
        matrix = ci["jobs"][job]["strategy"]["matrix"]["package"]
        assert matrix == "${{ fromJSON(needs.affected.outputs." + job + ") }}"
        assert "affected" in ci["jobs"][job]["needs"]


def test_every_ci_job_reads_the_cache_and_only_a_push_to_main_writes_it():
    env = _workflow("ci.yml")["env"]
    assert env["LATTE_REMOTE_CACHE_URL"] == "${{ secrets.LATTE_REMOTE_CACHE_URL }}"
    main_push = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert env["LATTE_REMOTE_CACHE_WRITE"] == "${{ " + main_push + " }}"
    # the read-write key only on that same condition, the read-only key otherwise
    assert "secrets.LATTE_CACHE_WRITE_ACCESS_KEY" in env["LATTE_S3_ACCESS_KEY"]
    assert env["LATTE_S3_ACCESS_KEY"].startswith("${{ " + main_push + " && ")


def test_the_release_goes_through_a_pull_request_and_keeps_its_bytes_in_the_store():
    for path in WORKFLOWS:
        text = path.read_text()
        assert not re.search(r"git push\b[^\n]*\b(HEAD:)?(refs/heads/)?main\b", text), path.name
    job = _workflow("release.yml")["jobs"]["release"]
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "gh pr create --base main" in script
    assert re.search(r"gh pr merge \S+ --auto", script)
    assert job["permissions"]["pull-requests"] == "write"
    assert job["env"]["LATTE_ARTIFACT_STORE_URL"] == "${{ secrets.LATTE_ARTIFACT_STORE_URL }}"
    assert "LATTE_REGISTRY_URL" in job["env"]


def test_affected_labels_become_package_matrices():
    matrix = _load_ci_script("affected_matrix")
    labels = ["//serving:tests", "//loadtests:bench-digits", "//:tests-models", "//gitops:scan"]
    assert matrix.outputs(matrix.affected_packages([*labels, "//nope:x", "garbage", ""])) == [
        'tests=["models", "serving", "loadtests"]',
        'security=["models", "serving", "loadtests", "gitops"]',
    ]
    assert matrix.outputs(matrix.affected_packages([])) == ["tests=[]", "security=[]"]
    # a label cannot smuggle text into the matrix: only known names are printed
    assert matrix.affected_packages(["//:x$(touch y)"]) == set()


def test_shell_steps_are_checked_as_github_runs_them(tmp_path):
    steps = _load_ci_script("shellcheck_steps")
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (.ci/run installs it; nox -s lint has its wheel)")
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n  j:\n    steps:\n"
        "      - run: echo ${{ github.sha }}\n"
        "      - name: bad\n        run: |\n          cd build\n          cp $SOURCE out\n"
        "      - shell: pwsh\n        run: Write-Output $x\n"
    )
    findings = steps.check(workflow, shutil.which("shellcheck"))
    assert [f.split(":")[1].strip() for f in findings] == ["j/bad line 2"]
    assert "SC2086" in findings[0]
    assert steps.blank_expressions("a ${{ x }} b") == "a ________ b"
    # and the real workflows are clean
    assert [f for path in WORKFLOWS for f in steps.check(path, shutil.which("shellcheck"))] == []
