"""The worker's world from engine variables, the data plan, and checkpoint identity."""

import json

import pytest

from latte_models.config import config_path, load_config
from latte_models.distributed import LocalCheckpoints, plan_steps, rank_rows, world_from_env
from latte_models.distributed._common import run_meta
from latte_models.distributed.checkpoints import CheckpointError, load_latest, save
from latte_models.errors import ConfigError


def test_torch_world_comes_from_torchrun_variables():
    env = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    world = world_from_env("pytorch", env)
    assert (world.rank, world.size, world.backend, world.rendezvous) == (
        1, 2, "gloo", "127.0.0.1:29500"
    )  # fmt: skip
    assert not world.is_chief


def test_missing_torch_variables_say_how_to_launch():
    with pytest.raises(
        ConfigError, match="MASTER_ADDR, MASTER_PORT not set: run this under torchrun"
    ):
        world_from_env("pytorch", {"RANK": "0", "WORLD_SIZE": "1"})


def test_an_impossible_rank_is_refused():
    env = {"RANK": "2", "WORLD_SIZE": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"}
    with pytest.raises(ConfigError, match="rank 2 of world size 2"):
        world_from_env("pytorch", env)


def test_tf_world_comes_from_tf_config():
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}
    world = world_from_env("tensorflow", {"TF_CONFIG": json.dumps(config)})
    assert (world.rank, world.size, world.rendezvous) == (0, 2, "a:1,b:2")
    assert world.is_chief


@pytest.mark.parametrize("raw", ["", "{}", '{"cluster": {"worker": []}, "task": {}}'])
def test_a_malformed_tf_config_is_one_clear_error(raw):
    with pytest.raises(ConfigError, match="TF_CONFIG is missing or malformed"):
        world_from_env("tensorflow", {"TF_CONFIG": raw})


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_every_step_splits_its_global_batch_without_overlap(workers):
    rows, batch = 100, 8
    steps = plan_steps(rows, batch, workers)
    seen = []
    for step in range(steps):
        pieces = [rank_rows(step, rank, rows, batch, workers) for rank in range(workers)]
        assert all(hi > lo for lo, hi in pieces), "no worker gets an empty piece"
        seen.extend(i for lo, hi in pieces for i in range(lo, hi))
    assert seen == sorted(set(seen))
    assert len(seen) >= rows - workers + 1  # at most a too-small last batch is dropped


def test_more_workers_than_batches_is_refused():
    assert plan_steps(100, 10, 10) == 1
    with pytest.raises(ConfigError, match="--workers 11 is more than the 10 batches"):
        plan_steps(100, 10, 11)
    with pytest.raises(ConfigError, match="--workers 0: at least one worker"):
        plan_steps(100, 10, 0)


@pytest.fixture
def config():
    return load_config(config_path("digits"))


def test_checkpoints_round_trip_and_the_newest_wins(tmp_path, config):
    store = LocalCheckpoints(tmp_path / "ckpt")
    assert load_latest(store, run_meta(config, 2)) is None
    save(store, run_meta(config, 2, step=5), b"five")
    save(store, run_meta(config, 2, step=10), b"ten")
    meta, payload = load_latest(store, run_meta(config, 2))
    assert (meta.step, payload) == (10, b"ten")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "step-00000005.ckpt",
        "step-00000010.ckpt",
    ]


def test_a_checkpoint_of_another_world_size_is_refused(tmp_path, config):
    store = LocalCheckpoints(tmp_path)
    save(store, run_meta(config, 1, step=5), b"x")
    with pytest.raises(CheckpointError, match="is for world_size 1, this run has 2"):
        load_latest(store, run_meta(config, 2))


def test_a_checkpoint_of_another_model_or_config_is_refused(tmp_path, config):
    store = LocalCheckpoints(tmp_path)
    save(store, run_meta(load_config(config_path("tumor")), 2, step=5), b"x")
    with pytest.raises(CheckpointError, match="is for model 'tumor', this run has 'digits'"):
        load_latest(store, run_meta(config, 2))
    store = LocalCheckpoints(tmp_path / "other")
    save(store, run_meta(config.with_gates({}), 2, step=1), b"x")  # gates do not shape weights
    assert load_latest(store, run_meta(config, 2)) is not None
    changed = type(config)(**{**config.__dict__, "train": {**config.train, "epochs": 1}})
    with pytest.raises(CheckpointError, match="config_digest"):
        load_latest(store, run_meta(changed, 2))


def test_a_foreign_file_is_not_taken_for_a_checkpoint(tmp_path, config):
    (tmp_path / "step-00000001.ckpt").write_bytes(b"not a header\nrest")
    with pytest.raises(CheckpointError, match="has no latte header"):
        load_latest(LocalCheckpoints(tmp_path), run_meta(config, 1))
