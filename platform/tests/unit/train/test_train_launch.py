"""The local launch lines and the `latte train` command's own refusals (no torch needed)."""

import json
from pathlib import Path

from latte.cli import main
from latte.train.launch import LaunchRequest, launch_command, tf_configs, worker_command

IMAGE = "ghcr.io/example/latte-train@sha256:" + "cd" * 32


def _request(**overrides):
    base = {"model": "digits", "workers": 2, "build_dir": Path("b"), "checkpoint_url": "c"}
    return LaunchRequest(**{**base, **overrides})


def test_torchrun_gets_a_local_rendezvous_and_the_worker_command():
    command = launch_command(_request(max_restarts=1, python="py"), 29999)
    assert command[:3] == ["py", "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in command
    assert "--rdzv-endpoint=127.0.0.1:29999" in command
    assert "--max-restarts=1" in command
    assert command[-len(worker_command(_request())) :] == worker_command(_request())


def test_the_worker_command_names_model_build_and_checkpoints():
    command = worker_command(_request(upload_url="s3://b/up"))
    assert command[:4] == ["-m", "latte_models", "train", "digits"]
    assert command[command.index("--checkpoint-url") + 1] == "c"
    assert command[-2:] == ["--upload-url", "s3://b/up"]


def test_every_tf_worker_gets_the_same_cluster_and_its_own_index():
    configs = [json.loads(c) for c in tf_configs([1001, 1002])]
    assert [c["task"] for c in configs] == [
        {"type": "worker", "index": 0},
        {"type": "worker", "index": 1},
    ]
    assert {json.dumps(c["cluster"]) for c in configs} == {
        json.dumps({"worker": ["127.0.0.1:1001", "127.0.0.1:1002"]})
    }


def _latte(tmp_path, capsys, *args):
    (tmp_path / "latte.toml").write_text("")
    code = main(["-C", str(tmp_path), "train", *args])
    return code, *capsys.readouterr()


def test_zero_workers_is_a_one_line_error(tmp_path, capsys):
    code, _, err = _latte(tmp_path, capsys, "digits", "--workers", "0")
    assert code == 2
    assert err == "latte: error: --workers 0: at least one worker is needed\n"


def test_an_unknown_model_is_a_one_line_error(tmp_path, capsys):
    code, _, err = _latte(tmp_path, capsys, "nope", "--emit", "trainjob", "--image", IMAGE)
    assert code == 1
    assert "unknown model 'nope' for latte train; known: digits, tumor" in err


def test_emit_writes_the_trainjob_and_says_when_it_was_not_validated(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LATTE_CRD_SCHEMAS", raising=False)
    monkeypatch.setenv("LATTE_ARTIFACT_STORE_URL", "s3://store/latte")
    out_file = tmp_path / "job.yaml"
    code, _, err = _latte(
        tmp_path, capsys, "digits", "--workers", "3", "--emit", "trainjob", "--image", IMAGE,
        "--output", str(out_file),
    )  # fmt: skip
    assert code == 0
    assert "TrainJob not validated: crd_schemas (LATTE_CRD_SCHEMAS) is not set" in err
    text = out_file.read_text()
    assert "numNodes: 3" in text
    assert "s3://store/latte/checkpoints/digits/w3" in text
    assert "s3://store/latte/train-runs/digits" in text


def test_emit_refuses_a_local_artifact_store(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LATTE_ARTIFACT_STORE_URL", raising=False)
    code, _, err = _latte(tmp_path, capsys, "digits", "--emit", "trainjob", "--image", IMAGE)
    assert code == 1
    assert "is not on S3: pods on a cluster cannot reach this machine's folders" in err


def test_emit_refuses_an_unpinned_image(tmp_path, capsys):
    code, _, err = _latte(tmp_path, capsys, "digits", "--emit", "trainjob", "--image", "x:1")
    assert code == 1
    assert "is not pinned by digest" in err


def test_register_from_an_empty_folder_says_so(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _latte(tmp_path, capsys, "digits", "--register-from", str(tmp_path / "empty"))
    assert code == 1
    assert "no built model in" in err
