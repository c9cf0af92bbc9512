from pathlib import Path

import pytest

from latte_loadtests import BenchUsageError, load_profiles

REPO_SLO = Path(__file__).resolve().parents[2] / "slo.toml"


def test_the_shipped_slo_file_covers_both_models_and_their_slo_levels_are_swept():
    profiles = load_profiles(REPO_SLO)
    assert set(profiles.models) >= {"digits", "tumor"}
    for profile in profiles.models.values():
        assert profile.slo.at_concurrency in profiles.sweep.concurrency
    assert profiles.sweep.total_seconds() < 60


def test_model_profile_reads_every_field(slo_file):
    profile = load_profiles(slo_file).model("digits")
    assert profile.batch_sizes == (1, 4, 16)
    assert profile.slo.p95_ms == 60.0
    assert profile.slo.describe() == "p95 <= 60 ms at concurrency 2, error rate <= 0"


def test_unknown_model_names_the_known_ones(slo_file):
    known = r"known: broken, digits, slow, tumor\).*\[model.nope.slo\]"
    with pytest.raises(BenchUsageError, match=r"no \[model.nope\].*" + known):
        load_profiles(slo_file).model("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model.a]\ndataset = 'digits'\n", r"\[slo\] is missing"),
        ("[sweep]\nconcurency = [1]\n", r"unknown key\(s\) concurency in \[sweep\]"),
        ("[sweep]\nconcurrency = [0, 2]\n", r"sweep.concurrency = \[0, 2\] must be"),
        ("[sweep]\nstep_seconds = -1\n", r"sweep.step_seconds = -1 must be a number >= 0"),
        ("[model.a]\n[model.a.slo]\np95_ms = 1.0\n", r"\[model.a.slo\] is incomplete"),
        ("[model]\na = 1\n", r"\[model.a\] must be a table"),
        ("sweep = [", r"not valid TOML"),
    ],
)
def test_bad_files_fail_with_the_key_and_value(tmp_path, text, message):
    path = tmp_path / "slo.toml"
    path.write_text(text)
    with pytest.raises(BenchUsageError, match=message):
        load_profiles(path)


def test_missing_file_says_which_flag_to_pass(tmp_path):
    with pytest.raises(BenchUsageError, match="does not exist; pass --slo-file"):
        load_profiles(tmp_path / "absent.toml")


def test_model_config_supplies_the_split_seed_and_fraction(tmp_path):
    (tmp_path / "m.toml").write_text("[model]\nseed = 7\n[data]\ntest_fraction = 0.25\n")
    (tmp_path / "slo.toml").write_text(
        "[model.m]\ndataset = 'digits'\nmodel_config = 'm.toml'\nseed = 1\n"
        "[model.m.slo]\np95_ms = 5.0\nat_concurrency = 1\n"
    )
    profile = load_profiles(tmp_path / "slo.toml").model("m")
    assert (profile.seed, profile.test_fraction) == (7, 0.25)


def test_unreadable_model_config_names_the_path(tmp_path):
    (tmp_path / "slo.toml").write_text(
        "[model.m]\ndataset = 'digits'\nmodel_config = 'absent.toml'\n"
        "[model.m.slo]\np95_ms = 5.0\nat_concurrency = 1\n"
    )
    with pytest.raises(BenchUsageError, match=r"model.m.model_config .*absent.toml has no"):
        load_profiles(tmp_path / "slo.toml")
