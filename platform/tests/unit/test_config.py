from pathlib import Path

import pytest

from latte.config import ConfigError, Settings, find_root, load_settings


def test_defaults_without_a_file(tmp_path):
    settings = load_settings(root=tmp_path, environ={})
    assert settings.root == tmp_path.resolve()
    assert settings.registry_url == "sqlite:///.latte/registry.db"
    assert settings.remote_cache_write is False
    assert settings.path(settings.build_dir) == tmp_path.resolve() / "build"


def test_precedence_file_then_environment_then_overrides(tmp_path):
    (tmp_path / "latte.toml").write_text(
        'triton_url = "http://file:8000"\nregistry_url = "sqlite:///file.db"\nforge = "github"\n'
    )
    settings = load_settings(
        root=tmp_path,
        environ={"LATTE_TRITON_URL": "http://env:8000", "LATTE_FORGE": "github"},
        overrides={"forge": "", "build_dir": None},
    )
    assert settings.registry_url == "sqlite:///file.db"
    assert settings.triton_url == "http://env:8000"
    assert settings.forge == ""
    assert settings.build_dir == Path("build")


def test_root_is_found_from_a_subfolder(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_root(nested) == tmp_path.resolve()
    assert load_settings(root=nested, environ={}).root == tmp_path.resolve()


def test_booleans_are_parsed_strictly(tmp_path):
    on = load_settings(root=tmp_path, environ={"LATTE_REMOTE_CACHE_WRITE": "yes", "CI": "true"})
    assert on.remote_cache_write is True
    assert on.ci is True
    with pytest.raises(ConfigError, match="must be true or false, got 'maybe'"):
        load_settings(root=tmp_path, environ={"LATTE_REMOTE_CACHE_WRITE": "maybe"})


def test_secrets_come_from_the_environment_only(tmp_path):
    (tmp_path / "latte.toml").write_text('s3_secret_key = "hunter2"\n')
    with pytest.raises(ConfigError, match="LATTE_S3_SECRET_KEY"):
        load_settings(root=tmp_path, environ={})


def test_secrets_are_not_in_repr(tmp_path):
    settings = load_settings(root=tmp_path, environ={"AWS_SECRET_ACCESS_KEY": "hunter2"})
    assert settings.s3_secret_key == "hunter2"
    assert "hunter2" not in repr(settings)


def test_unknown_keys_are_named(tmp_path):
    (tmp_path / "latte.toml").write_text('[latte]\nregistry_ulr = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting\\(s\\) registry_ulr"):
        load_settings(root=tmp_path, environ={})


def test_non_scalar_values_are_rejected(tmp_path):
    (tmp_path / "latte.toml").write_text("triton_url = [1, 2]\n")
    with pytest.raises(ConfigError, match="must be a string"):
        load_settings(root=tmp_path, environ={})


def test_settings_are_frozen(tmp_path):
    settings = Settings(root=tmp_path)
    with pytest.raises(AttributeError):
        settings.forge = "github"  # type: ignore[misc]
