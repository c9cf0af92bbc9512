import importlib.util
import socket

import pytest

from latte.cli import main
from latte.commands.bench import bench, direct_commands
from latte.config import load_settings
from latte.errors import LatteError, UsageError

SLO = """
[model.digits]
dataset = "digits"
[model.digits.slo]
p95_ms = 50.0
at_concurrency = 1

[model.tumor]
dataset = "breast_cancer"
[model.tumor.slo]
p95_ms = 50.0
at_concurrency = 1
"""


def args(**overrides):
    values = {
        "models": [], "mixed": False, "url": "", "metrics_url": "", "concurrency": "",
        "step_seconds": "", "warmup_seconds": "", "encoding": "", "no_cache": False,
        "keep_going": False,
    }  # fmt: skip
    return {**values, **overrides}


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    (tmp_path / "loadtests").mkdir()
    (tmp_path / "loadtests" / "slo.toml").write_text(SLO)
    return load_settings(root=tmp_path, environ={})


class FakeReport:
    def summary(self):
        return "2 targets: 1 ran, 1 cached"

    def raise_for_failure(self):
        return None


def installed(name):
    return object()


def test_missing_locust_says_what_to_install(settings):
    def find_spec(name):
        return None if name == "locust" else object()

    with pytest.raises(LatteError, match=r"needs locust.*pip install -e serving -e loadtests"):
        bench(settings, **args(), find_spec=find_spec)


def test_default_run_goes_through_the_task_runner_with_the_device_in_the_env(settings, capsys):
    calls = []

    def targets(settings_, patterns, **kwargs):
        calls.append((patterns, kwargs))
        return FakeReport()

    code = bench(
        settings, **args(models=["digits"]), find_spec=installed, targets=targets,
        key_env=lambda s, env: {"LATTE_BENCH_DEVICE": "cpu:2x Test CPU"}, environ={"PATH": "/"},
    )  # fmt: skip
    assert code == 0
    ((patterns, kwargs),) = calls
    assert patterns == ["//loadtests:bench-digits"]
    assert kwargs["jobs"] == 1  # two benchmarks must not share the CPUs
    assert kwargs["environ"]["LATTE_BENCH_DEVICE"] == "cpu:2x Test CPU"
    assert kwargs["environ"]["PATH"] == "/"
    assert "1 cached" in capsys.readouterr().out


def test_no_model_means_every_bench_target(settings):
    (settings.root / "loadtests").mkdir(exist_ok=True)
    (settings.root / "loadtests" / "slo.toml").write_text("[model.digits]\n[model.tumor]\n")
    seen = []
    bench(
        settings, **args(), find_spec=installed, key_env=lambda s, env: {},
        targets=lambda s, patterns, **kw: seen.append(patterns) or FakeReport(),
    )  # fmt: skip
    # the sweeps, never loadtests' own lint/typecheck/tests/security targets
    assert seen == [
        ["//loadtests:bench-digits", "//loadtests:bench-tumor", "//loadtests:bench-mixed"]
    ]


def test_url_runs_directly_and_uncached(settings):
    commands = []

    def runner(command, env):
        commands.append(command)
        return 3

    def key_env(settings, env):
        raise AssertionError("a direct run is not cached, so it needs no key")

    code = bench(
        settings, **args(url="http://127.0.0.1:9", models=["digits"]), runner=runner,
        find_spec=installed, key_env=key_env, environ={},
    )  # fmt: skip
    assert code == 3
    (command,) = commands
    assert command[1:4] == ["-m", "latte_loadtests", "run"]
    assert command[command.index("--url") + 1] == "http://127.0.0.1:9"
    assert command[-2:] == ["--model", "digits"]


def test_overrides_and_mixed_make_one_direct_run_of_every_model(settings):
    commands = direct_commands(
        settings, mixed=True, concurrency="1,2", step_seconds="2", encoding="json"
    )
    (command,) = commands
    assert command[command.index("--concurrency") + 1] == "1,2"
    assert command[command.index("--step-seconds") + 1] == "2"
    assert command[command.index("--encoding") + 1] == "json"
    assert command[-4:] == ["--model", "digits", "--model", "tumor"]
    assert command[command.index("--slo-file") + 1] == str(settings.root / "loadtests/slo.toml")


def test_one_direct_run_per_model_and_the_worst_exit_code_wins(settings):
    codes = iter([0, 4])
    code = bench(
        settings, **args(no_cache=True), runner=lambda c, e: next(codes), find_spec=installed,
        environ={},
    )  # fmt: skip
    assert code == 4


def test_an_slo_file_without_models_is_a_usage_error(settings):
    (settings.root / "loadtests" / "slo.toml").write_text("[sweep]\n")
    with pytest.raises(UsageError, match="lists no"):
        direct_commands(settings)


@pytest.mark.skipif(
    importlib.util.find_spec("latte_loadtests") is None, reason="loadtests not installed here"
)
def test_a_stopped_server_fails_the_real_command_with_one_line(settings, capfd):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code = main(["-C", str(settings.root), "bench", "--url", url, "--model", "digits"])
    assert code == 3
    assert "cannot reach" in capfd.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("latte_loadtests") is None, reason="loadtests not installed here"
)
def test_the_key_variables_come_from_latte_loadtests(settings):
    from latte.commands.bench import _key_env

    values = _key_env(settings, dict(__import__("os").environ))
    assert values["LATTE_BENCH_DEVICE"].split(":")[0] in {"cpu", "gpu"}
    assert len(values["LATTE_BENCH_SERVING"]) == 64


@pytest.mark.skipif(
    importlib.util.find_spec("latte_loadtests") is not None, reason="loadtests is installed here"
)
def test_without_loadtests_the_key_cannot_be_computed_and_says_why(settings):
    from latte.commands.bench import _key_env

    with pytest.raises(LatteError, match="cannot compute the benchmark cache key"):
        _key_env(settings, dict(__import__("os").environ))


def test_a_direct_run_is_a_real_child_process_whose_exit_code_is_returned(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    direct = args(url=f"http://127.0.0.1:{port}", models=["digits"])
    # 3: the stopped server; 1: python cannot find latte_loadtests in a platform-only env
    expected = 1 if importlib.util.find_spec("latte_loadtests") is None else 3
    assert bench(settings, **direct, find_spec=installed) == expected
