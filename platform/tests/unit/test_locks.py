"""The committed locks match what the packages ask for (else: run `nox -s lock`).

Sessions install a lock with --no-deps, so a requirement added to a pyproject.toml without
re-locking would silently be missing; these checks catch that before any session runs.
"""

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[3]
# what the locks are resolved for (noxfile.py: CPython 3.11, linux x86_64)
TARGET = {
    **default_environment(),
    "python_version": "3.11",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
}


@pytest.fixture(scope="module")
def environments():
    spec = importlib.util.spec_from_file_location("latte_noxfile", REPO / "noxfile.py")
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    return noxfile, noxfile._environments(REPO)


def _pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", lock.read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in found}


def _asks(folder: str) -> list[Requirement]:
    """What a local package (`serving[triton]`) requires: its dependencies plus the extras'."""
    name, _, extras = folder.partition("[")
    project = tomllib.loads((REPO / name / "pyproject.toml").read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in filter(None, extras.rstrip("]").split(",")):
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _unmet(requirements: list[Requirement], pins: dict[str, str]) -> list[str]:
    unmet = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name.startswith("latte-"):
            continue  # a local package, installed editable beside the lock
        if requirement.marker and not requirement.marker.evaluate(TARGET):
            continue
        version = pins.get(name)
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{requirement} (locked: {version})")
    return unmet


def test_every_environment_has_a_lock_whose_input_is_current(environments):
    noxfile, envs = environments
    for env, (local, requirements) in envs.items():
        spec = (REPO / "locks" / f"{env}.in").read_text().splitlines()[1:]
        assert spec == [*(f"-e ./{folder}" for folder in local), *requirements], (
            f"locks/{env}.in is stale: run `nox -s lock -- {env}`"
        )
        assert (REPO / "locks" / f"{env}.txt").is_file()
    for env, requirement in noxfile.UNRESOLVED_LOCKS.items():
        assert _unmet([Requirement(requirement)], _pins(REPO / "locks" / f"{env}.txt")) == []


def test_every_lock_satisfies_its_packages(environments):
    _, envs = environments
    for env, (local, requirements) in envs.items():
        pins = _pins(REPO / "locks" / f"{env}.txt")
        asked = [Requirement(line) for line in requirements]
        asked += [requirement for folder in local for requirement in _asks(folder)]
        assert _unmet(asked, pins) == [], f"locks/{env}.txt is stale: run `nox -s lock -- {env}`"


def test_the_heavy_stacks_are_the_cpu_builds(environments):
    _, envs = environments
    for env in ("build", "tests-models"):
        pins = _pins(REPO / "locks" / f"{env}.txt")
        assert pins["torch"] == "2.13.0+cpu"
        assert pins["tensorflow-cpu"] == "2.21.0"
        assert "tensorflow" not in pins  # the CUDA-capable build never comes in beside it
    for env, (local, _) in envs.items():
        if not any(folder.partition("[")[0] == "models" for folder in local):
            assert "torch" not in _pins(REPO / "locks" / f"{env}.txt"), env


def test_a_stale_lock_is_named():
    pins = {"fastapi": "0.110.0"}
    assert _unmet([Requirement("fastapi>=0.115"), Requirement("rich")], pins) == [
        "fastapi>=0.115 (locked: 0.110.0)",
        "rich (locked: None)",
    ]
    assert _unmet([Requirement("pywin32; sys_platform == 'win32'")], {}) == []
