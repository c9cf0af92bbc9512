"""No variable of the environment the tests were started in reaches a test's latte settings."""

import os
import subprocess
import sys
from pathlib import Path

from latte.config import load_settings, settings_variables

HERE = Path(__file__).resolve()


def test_settings_variables_are_latte_ones_and_the_aliases():
    environ = {"LATTE_REGISTRY_URL": "x", "GITHUB_TOKEN": "t", "CI": "1", "HOME": "/h"}
    assert settings_variables(environ) == ["CI", "GITHUB_TOKEN", "LATTE_REGISTRY_URL"]


def test_a_test_sees_no_latte_variable(tmp_path):
    assert settings_variables(os.environ) == []
    seen = load_settings(root=tmp_path, environ=dict(os.environ))
    assert seen == load_settings(root=tmp_path, environ={})


def test_a_ci_registry_url_does_not_reach_a_test(tmp_path):
    """The run itself, started as a CI job would start it: the exported URL is not seen."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import os\n"
        "def test_probe():\n"
        "    assert 'LATTE_REGISTRY_URL' not in os.environ\n"
        "    assert 'GITHUB_TOKEN' not in os.environ\n"
    )
    (tmp_path / "conftest.py").write_text((HERE.parents[1] / "conftest.py").read_text())
    (tmp_path / "servers.py").write_text("")
    env = {**os.environ, "LATTE_REGISTRY_URL": "postgresql://ci/shared", "GITHUB_TOKEN": "t"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
