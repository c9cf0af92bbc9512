import pytest

from latte_serving.cli import build_parser, main, settings_from_args
from latte_serving.errors import ConfigFileError, ServingError
from latte_serving.security import KeyChecker
from latte_serving.settings import GatewaySettings, hash_api_key


def test_keys_are_checked_against_digests():
    checker = KeyChecker([hash_api_key("s3cret"), hash_api_key("other")])
    assert checker.enabled
    assert checker.allows({"authorization": "Bearer s3cret"})
    assert checker.allows({"x-api-key": "other"})
    assert not checker.allows({"authorization": "Bearer wrong"})
    assert not checker.allows({"authorization": "Basic s3cret"})
    assert not checker.allows({})


def test_no_keys_means_open():
    checker = KeyChecker([])
    assert not checker.enabled
    assert checker.allows({})


def test_a_plain_key_in_place_of_a_digest_is_refused():
    with pytest.raises(ConfigFileError, match="not a sha256 hex digest"):
        KeyChecker(["s3cret"])


def test_auto_backend_follows_the_triton_url():
    assert GatewaySettings().resolved_backend() == "local"
    assert GatewaySettings(triton_url="127.0.0.1:8001").resolved_backend() == "triton"
    assert GatewaySettings(backend="local", triton_url="x").resolved_backend() == "local"


def test_settings_come_from_env_then_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("LATTE_SERVING_PORT", "9100")
    monkeypatch.setenv("LATTE_SERVING_TRITON_URL", "127.0.0.1:1")
    args = build_parser().parse_args(
        ["serve", "--model-repository", str(tmp_path), "--port", "9200",
         "--api-key-hash", hash_api_key("k"), "--no-dynamic-batching"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.port == 9200
    assert settings.triton_url == "127.0.0.1:1"
    assert settings.api_key_hashes == (hash_api_key("k"),)
    assert settings.local_dynamic_batching is False


def test_bad_setting_is_one_line_error(capsys, tmp_path):
    code = main(["serve", "--model-repository", str(tmp_path), "--port", "70000"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("latte-serving: error: invalid gateway setting")
    assert len(err.strip().splitlines()) == 1


def test_serve_on_a_missing_repository_says_what_to_do(capsys, tmp_path):
    code = main(["serve", "--model-repository", str(tmp_path / "none"), "--backend", "local"])
    assert code == 2
    assert "run 'latte build'" in capsys.readouterr().err


def test_hash_key_prints_the_digest(capsys):
    assert main(["hash-key", "s3cret"]) == 0
    assert capsys.readouterr().out.strip() == hash_api_key("s3cret")


def test_serving_errors_carry_exit_codes():
    assert ServingError("x").exit_code == 1
    assert ConfigFileError("x").exit_code == 2


def test_api_key_hashes_come_comma_separated_from_the_environment(monkeypatch):
    digests = [hash_api_key("a"), hash_api_key("b")]
    monkeypatch.setenv("LATTE_SERVING_API_KEY_HASHES", f"{digests[0]}, {digests[1]},")
    assert GatewaySettings().api_key_hashes == tuple(digests)
