"""`latte serve`: builds the gateway command line, and says what to install when it can't."""

import json
import sys
from pathlib import Path

import pytest

from latte.cli import build_parser, main
from latte.commands.serve import gateway_command, options, serve
from latte.config import load_settings
from latte.errors import LatteError


def _args(*argv: str) -> dict:
    args, extra = build_parser().parse_known_args(["serve", *argv])
    args.extra = extra
    return options(args)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    (tmp_path / "build" / "model-repository" / "digits").mkdir(parents=True)
    return tmp_path


def test_serve_runs_the_gateway_module_with_a_local_triton(repo):
    settings = load_settings(root=repo, environ={})
    seen = []
    code = serve(
        settings,
        **_args("--port", "9001"),
        runner=lambda cmd: seen.append(cmd) or 7,
        find_spec=lambda name: object(),  # the platform's test env has no serving package
    )
    assert code == 7
    (command,) = seen
    assert command[:4] == [sys.executable, "-m", "latte_serving", "serve"]
    assert command[command.index("--model-repository") + 1] == str(
        repo / "build" / "model-repository"
    )
    assert command[command.index("--port") + 1] == "9001"
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert "--start-triton" in command


def test_a_configured_triton_url_is_passed_instead_of_starting_one(repo):
    settings = load_settings(root=repo, environ={"LATTE_TRITON_URL": "127.0.0.1:8001"})
    command = gateway_command(
        settings, **{**_args("--routing", "routing.yaml"), "extra": ["--log-level", "x"]}
    )
    assert command[command.index("--triton-url") + 1] == "127.0.0.1:8001"
    assert "--start-triton" not in command
    assert command[command.index("--routing") + 1] == str(repo / "routing.yaml")
    assert command[-2:] == ["--log-level", "x"]


def test_local_backend_starts_no_triton(repo):
    settings = load_settings(root=repo, environ={})
    assert "--start-triton" not in gateway_command(settings, **_args("--backend", "local"))


def test_missing_serving_package_says_what_to_install(repo):
    settings = load_settings(root=repo, environ={})
    with pytest.raises(LatteError, match="pip install -e serving"):
        serve(settings, **_args(), runner=lambda cmd: 0, find_spec=lambda name: None)


def test_missing_model_repository_points_at_latte_build(tmp_path, capsys):
    (tmp_path / "latte.toml").write_text("")
    code = main(["-C", str(tmp_path), "serve", "--backend", "local"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no model repository" in err
    assert "latte build" in err
    assert len(err.strip().splitlines()) == 1


def test_the_default_runner_returns_the_child_exit_code():
    from latte.commands.serve import _run

    assert _run([sys.executable, "-c", "raise SystemExit(3)"]) == 3


def test_sigterm_to_latte_reaches_the_gateway(tmp_path):
    import signal
    import subprocess
    import time

    ready = tmp_path / "ready"
    child = (
        "import signal, sys, time, pathlib\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(5))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
    )
    parent = (
        "import sys\n"
        "from latte.commands.serve import _run\n"
        f"sys.exit(_run([sys.executable, '-c', {child!r}]))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 5  # the child's own exit code, after its handler ran


def test_serve_release_runs_on_the_fetched_versions_with_the_release_routing(
    repo, capsys, monkeypatch
):
    from latte.commands import serve as serve_module
    from latte.registry import open_registry
    from latte.registry.marker import RepositoryMarker

    settings = load_settings(root=repo, environ={})
    digests = {}
    with open_registry(settings) as registry:
        for version in (1, 2):
            tree = repo / f"tree{version}"
            (tree / "1").mkdir(parents=True)
            (tree / "config.pbtxt").write_text('name: "digits"\n')
            (tree / "1" / "model.onnx").write_text(f"weights {version}")
            digests[str(version)] = registry.register("digits", tree).digest
    env = repo / "gitops" / "envs" / "dev"
    env.mkdir(parents=True)
    route = {"stable": 1, "versions": {"1": 90, "2": 10}, "stickyHeader": "x-k", "shadow": None}
    (env / "release.yaml").write_text(
        json.dumps(
            {
                "models": {"digits": {"version": 2, "digest": digests["2"], "artifacts": digests}},
                "routing": {"digits": route},
            }
        )
    )
    seen = []
    argv = ["-C", str(repo), "serve", "--release", "gitops/envs/dev/release.yaml"]
    original = serve_module.serve
    monkeypatch.setattr(
        serve_module,
        "serve",
        lambda settings, **flags: original(
            settings, runner=lambda cmd: seen.append(cmd) or 0,
            find_spec=lambda name: object(), **flags,
        ),
    )  # fmt: skip
    assert main(argv) == 0
    (command,) = seen
    fetched = repo / "build" / "serve" / "dev"
    assert command[command.index("--model-repository") + 1] == str(fetched)
    marker = RepositoryMarker.read(fetched)
    assert marker is not None
    assert marker.models == {"digits": {1: digests["1"], 2: digests["2"]}}
    routing = json.loads(Path(command[command.index("--routing") + 1]).read_text())
    assert routing == {
        "models": {
            "digits": {
                "stable": 1,
                "weights": {"1": 90, "2": 10},
                "sticky_header": "x-k",
                "digests": digests,
            }
        }
    }
    assert "serving digits version 2 (sha256:" in capsys.readouterr().out
