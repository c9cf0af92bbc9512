"""Data-parallel training for real: torchrun + DDP on gloo (digits) and TF
MultiWorkerMirroredStrategy with TF_CONFIG on 127.0.0.1 (tumor), two workers at most.

The workers run ``python -m latte_models train``, exactly what ``latte train`` and a TrainJob
run; the launch lines here are the local engine's (torchrun, one process per TF worker).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latte_models import tree_digest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TIMEOUT = 600


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker(model: str, build: Path, ckpt: Path, *extra: str) -> list[str]:
    return [
        "-m", "latte_models", "train", model, "--build-dir", str(build),
        "--checkpoint-url", str(ckpt), "--instance-kind", "cpu", *extra,
    ]  # fmt: skip


def _torchrun(workers: int, build: Path, ckpt: Path, *extra: str, restarts: int = 0) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1",
        f"--nproc-per-node={workers}", "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{_port()}", f"--max-restarts={restarts}",
        "--monitor-interval=0.5", *_worker("digits", build, ckpt, *extra),
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a launcher in its own process group; on timeout the whole group goes (a hung
    worker must not outlive the test)."""
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        err += f"\n(killed after {TIMEOUT} s)"
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _report(build: Path, model: str) -> dict[str, object]:
    return json.loads((build / "models" / model / "metrics.json").read_text())


def _tf_workers(workers: int, build: Path, ckpt: Path) -> list[subprocess.CompletedProcess[str]]:
    hosts = [f"127.0.0.1:{_port()}" for _ in range(workers)]
    processes = []
    for index in range(workers):
        config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                [sys.executable, *_worker("tumor", build, ckpt)],
                env={**_env(), "TF_CONFIG": json.dumps(config)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        )
    done = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=TIMEOUT)
            done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    return done


def _in_process(monkeypatch: pytest.MonkeyPatch, rank: int, size: int, *args: str) -> int:
    """One worker in this process (what torchrun's child runs), so coverage sees it too."""
    from latte_models.__main__ import main

    for key, value in {"RANK": rank, "WORLD_SIZE": size, "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": _port(), "LOCAL_RANK": 0}.items():  # fmt: skip
        monkeypatch.setenv(key, str(value))
    return main(["train", "digits", "--instance-kind", "cpu", *args])


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """digits trained twice on 2 workers (torchrun) and once on 1 (in process), from scratch."""
    builds = {}
    for label in ("w2a", "w2b"):
        root = tmp_path_factory.mktemp(label)
        done = _run(_torchrun(2, root / "build", root / "ckpt"))
        assert done.returncode == 0, done.stderr[-3000:]
        builds[label] = root
    root = builds["w1"] = tmp_path_factory.mktemp("w1")
    with pytest.MonkeyPatch.context() as monkeypatch:
        args = ("--build-dir", str(root / "build"), "--checkpoint-url", str(root / "ckpt"))
        assert _in_process(monkeypatch, 0, 1, *args) == 0
    return builds


def test_two_workers_pass_the_gate_and_record_the_world(digits_runs):
    report = _report(digits_runs["w2a"] / "build", "digits")
    assert report["gates_passed"] is True
    assert report["training"] == {
        "world_size": 2, "backend": "gloo", "engine": "torchrun+DistributedDataParallel"
    }  # fmt: skip
    assert report["artifact_digest"] == tree_digest(
        digits_runs["w2a"] / "build" / "model-repository" / "digits"
    )


def test_same_world_size_gives_byte_identical_artifacts(digits_runs):
    first, second = (digits_runs[k] / "build" / "model-repository" for k in ("w2a", "w2b"))
    for name in ("digits", "digits_torchscript"):
        assert tree_digest(first / name) == tree_digest(second / name)


def test_one_worker_passes_the_gate_with_other_weights(digits_runs):
    one, two = (_report(digits_runs[k] / "build", "digits") for k in ("w1", "w2a"))
    assert one["gates_passed"] is True
    assert one["training"]["world_size"] == 1
    assert one["artifact_digest"] != two["artifact_digest"]  # the promise is per world size


def test_a_checkpoint_of_another_world_size_is_refused(digits_runs, tmp_path, monkeypatch, capsys):
    ckpt = digits_runs["w2a"] / "ckpt"
    args = ("--build-dir", str(tmp_path / "build"), "--checkpoint-url", str(ckpt))
    assert _in_process(monkeypatch, 0, 1, *args) == 2
    err = capsys.readouterr().err
    assert "is for world_size 2, this run has 1" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "build" / "models").exists()


def test_a_rerun_resumes_from_the_newest_checkpoint_to_the_same_artifact(digits_runs, tmp_path):
    done = _run(_torchrun(2, tmp_path / "build", digits_runs["w2a"] / "ckpt"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from step" in done.stdout
    assert (
        _report(tmp_path / "build", "digits")["artifact_digest"]
        == _report(digits_runs["w2a"] / "build", "digits")["artifact_digest"]
    )


def _worker_pids(parent: int) -> list[int]:
    """The torchrun agent's worker processes (its children running latte_models)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
            cmdline = (status.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(parent) and b"latte_models" in cmdline:
            found.append(int(status.parent.name))
    return found


def test_killing_a_worker_mid_run_then_a_rerun_resumes_to_the_gate(tmp_path):
    config = tmp_path / "digits.toml"
    source = Path(__file__).resolve().parents[2] / "configs" / "digits.toml"
    config.write_text(source.read_text().replace("epochs = 25", "epochs = 60"))
    ckpt = tmp_path / "ckpt"
    args = ("--config", str(config), "--checkpoint-every", "10")
    command = _torchrun(2, tmp_path / "build", ckpt, *args)
    agent = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while (
            not list(ckpt.glob("*.ckpt")) and time.monotonic() < deadline and agent.poll() is None
        ):
            time.sleep(0.05)
        workers = _worker_pids(agent.pid)
        assert workers, "no worker to kill: the run ended before its first checkpoint"
        os.kill(max(workers), signal.SIGKILL)
        agent.communicate(timeout=TIMEOUT)
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)
    assert agent.returncode != 0, "the run survived the killed worker"
    assert not (tmp_path / "build" / "models").exists()
    done = _run(_torchrun(2, tmp_path / "build", ckpt, *args))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from step" in done.stdout
    assert _report(tmp_path / "build", "digits")["gates_passed"] is True


def test_a_worker_that_cannot_reach_the_rendezvous_gives_up_in_time(tmp_path, monkeypatch, capsys):
    args = ("--build-dir", str(tmp_path / "b"), "--checkpoint-url", str(tmp_path / "c"))
    began = time.monotonic()
    assert _in_process(monkeypatch, 1, 2, *args, "--rendezvous-timeout", "3") == 5
    assert time.monotonic() - began < 45
    # torch's c10d logs its connection retries from C++ (not captured here); ours is one line
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "worker 1 of 2 could not reach the rendezvous at 127.0.0.1:" in line
    assert "within 3 s" in line


def test_more_workers_than_batches_is_refused_before_training():
    done = _run([sys.executable, "-m", "latte_models", "plan", "digits", "--workers", "100"])
    assert done.returncode == 2
    assert "--workers 100 is more than the 19 batches" in done.stderr


@pytest.fixture(scope="module")
def tumor_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """tumor trained twice on 2 TF workers."""
    roots = []
    for label in ("t2a", "t2b"):
        root = tmp_path_factory.mktemp(label)
        for done in _tf_workers(2, root / "build", root / "ckpt"):
            assert done.returncode == 0, done.stderr[-3000:]
        roots.append(root)
    return roots


def test_tumor_on_two_tf_workers_passes_the_gate_deterministically(tumor_runs):
    first, second = (_report(root / "build", "tumor") for root in tumor_runs)
    assert first["gates_passed"] is True
    assert first["training"]["world_size"] == 2
    assert first["training"]["engine"] == "MultiWorkerMirroredStrategy"
    assert first["artifact_digest"] == second["artifact_digest"]
    assert list((tumor_runs[0] / "ckpt").glob("*.ckpt"))
