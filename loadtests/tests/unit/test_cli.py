import pytest

from latte_loadtests.cli import main


def run(argv, environ=None):
    return main(argv, environ=environ or {})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run"], "the following arguments are required: --model"),
        (["run", "--model", "digits", "--concurrency", "1,x"], "'1,x' is not a list like 1,4,16"),
        (["run", "--model", "digits", "--concurrency", "0"], "'0' is not a list like 1,4,16"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(argv, message, capsys):
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_slo_level_missing_from_the_sweep_is_refused_before_any_load(slo_file, tmp_path, capsys):
    argv = ["run", "--model", "digits", "--slo-file", str(slo_file), "--concurrency", "1,4"]
    assert run([*argv, "--url", "http://127.0.0.1:9", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "measured at concurrency 2 but the sweep runs [1, 4]; add it to --concurrency" in err
    assert not (tmp_path / "bench.json").exists()


def test_cache_runs_must_carry_their_key_variables(build_dir, slo_file, capsys):
    argv = ["run", "--model", "digits", "--slo-file", str(slo_file), "--require-key-env"]
    assert run([*argv, "--build-dir", str(build_dir)]) == 2
    assert "LATTE_BENCH_DEVICE is not set, so the task runner's key" in capsys.readouterr().err


def test_cache_runs_without_a_build_say_to_build_first(slo_file, tmp_path, capsys):
    argv = ["run", "--model", "digits", "--slo-file", str(slo_file), "--require-key-env"]
    assert run([*argv, "--build-dir", str(tmp_path)]) == 2
    assert "no built model digits in " in capsys.readouterr().err


def test_key_env_prints_device_serving_and_each_model(build_dir, capsys):
    assert run(["key-env", "--build-dir", str(build_dir)]) == 0
    names = [line.split("=", 1)[0] for line in capsys.readouterr().out.splitlines()]
    assert names[:2] == ["LATTE_BENCH_DEVICE", "LATTE_BENCH_SERVING"]
    assert "LATTE_BENCH_MODEL_DIGITS" in names
    assert "LATTE_BENCH_MODEL_SLOW" in names


def test_missing_model_repository_says_to_build_first(slo_file, tmp_path, capsys):
    argv = ["run", "--model", "digits", "--slo-file", str(slo_file)]
    assert run([*argv, "--build-dir", str(tmp_path / "nothing")]) == 2
    assert "model 'digits' is not in " in capsys.readouterr().err


def test_device_prints_one_key(capsys):
    assert run(["device"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.split(":", 1)[0] in {"cpu", "gpu"}


@pytest.mark.parametrize("url", ["file:///etc/passwd", "127.0.0.1:8000", "http://"])
def test_url_must_be_http(url, slo_file, tmp_path, capsys):
    argv = ["run", "--model", "digits", "--slo-file", str(slo_file), "--url", url]
    assert run([*argv, "--out-dir", str(tmp_path)]) == 2
    assert f"--url {url!r} is not an http(s) URL" in capsys.readouterr().err
