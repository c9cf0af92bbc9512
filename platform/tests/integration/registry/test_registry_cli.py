"""``latte registry ...`` end to end through latte.cli.main: output, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest
from conftest import fresh_database
from servers import free_port

from latte.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "latte.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    for name in ("LATTE_REGISTRY_URL", "LATTE_ARTIFACT_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys, *argv):
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_register_alias_block_export_backup_restore(project, make_tree, capsys):
    tree_a, tree_b = make_tree("a"), make_tree("b")
    (project / "metrics.json").write_text(json.dumps({"accuracy": 0.9}))
    code, out, _ = run(
        capsys,
        "register",
        "digits",
        str(tree_a),
        "--metrics",
        "metrics.json",
        "--lineage",
        "git_commit=abc",
        "--json",
    )
    assert code == 0
    assert json.loads(out)[0]["metrics"] == {"accuracy": 0.9}
    assert run(capsys, "register", "digits", str(tree_b))[0] == 0
    assert run(capsys, "alias", "digits", "production:champion", "1")[1] == (
        "digits production:champion -> version 1\n"
    )
    code, out, _ = run(capsys, "show", "digits@production:champion")
    assert code == 0
    assert "digits version 1" in out
    assert "lineage git_commit: abc" in out
    assert "aliases: ['production:champion']" in out
    assert run(capsys, "block", "digits", "2", "--reason", "bad labels")[0] == 0
    code, out, _ = run(capsys, "list", "digits")
    assert out.splitlines()[1].endswith("BLOCKED: bad labels")
    code, out, _ = run(capsys, "export-repo", "repo")
    assert code == 0
    assert sorted(
        p.relative_to(project).as_posix() for p in (project / "repo").rglob("*.onnx")
    ) == ["repo/digits/1/model.onnx"]
    code, out, _ = run(capsys, "audit", "digits", "--json")
    assert [e["action"] for e in json.loads(out)] == ["register", "register", "alias", "block"]
    assert run(capsys, "audit")[1].count("\n") == 4
    assert run(capsys, "backup", "backup")[0] == 0
    code, out, _ = run(
        capsys,
        "--registry-url",
        "sqlite:///r2.db",
        "--artifact-store-url",
        "a2",
        "restore",
        "backup",
    )
    assert code == 0
    assert out.startswith("restored 2 versions from backup (snapshot ")
    assert out.endswith("); every digest verified\n")
    code, out, _ = run(capsys, "--registry-url", "sqlite:///r2.db", "list", "--json")
    assert [mv["version"] for mv in json.loads(out)] == [1, 2]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["show", "nope"], 1, "unknown model 'nope'"),
        (["show", "digits@0"], 2, "invalid selector 'digits@0'"),
        (["register", "digits", "missing"], 2, "artifact folder 'missing' does not exist"),
        (["register", "digits", "TREE", "--expect-digest", "sha256:12"], 2, "malformed digest"),
        (
            ["register", "digits", "TREE", "--expect-digest", "sha256:" + "0" * 64],
            1,
            "the artifacts changed after the build",
        ),
        (["register", "bad name", "TREE"], 2, "invalid model name 'bad name'"),
        (["register", "digits", "TREE", "--lineage", "novalue"], 2, "write KEY=VALUE"),
        (["alias", "digits", "Prod:Champion", "1"], 2, "invalid alias 'Prod:Champion'"),
        (["alias", "digits", "production:champion", "x"], 2, "positive integer"),
        (["block", "digits", "1"], 2, "--reason"),
        (["export-repo", "repo", "nope@3"], 1, "unknown model 'nope'"),
        (["export-repo", "s3://Bad_Bucket/x"], 2, "not a valid S3 bucket name"),
        (["export-repo", "."], 2, "is (or contains)"),
        (["export-repo", "latte.toml"], 2, "exists and is not a folder"),
        (
            ["fetch", "--release", "nope.yaml", "--dest", "m", "--instance-kind", "cpu"],
            1,
            "cannot read release file nope.yaml",
        ),
        (["restore", "missing"], 2, "is not a readable latte registry backup"),
        (["--registry-url", "mysql://x/y", "list"], 2, "unsupported database"),
        (["--artifact-store-url", "s3://latte-x/a", "list"], 2, "no endpoint"),
    ],
)
def test_bad_input_gives_one_clear_line_and_a_non_zero_exit(
    project, make_tree, capsys, argv, code, message
):
    tree = str(make_tree("a"))
    argv = [tree if arg == "TREE" else arg for arg in argv]
    result, out, err = run(capsys, *argv)
    assert result == code
    assert message in err
    assert err.startswith("latte: error: ")
    assert err.count("\n") == 1
    assert out == ""


def test_an_unreachable_database_is_one_line(project, capsys):
    url = f"postgresql://latte@127.0.0.1:{free_port()}/latte"
    code, _, err = run(capsys, "--registry-url", url, "list")
    assert code == 1
    assert err.startswith("latte: error: registry database postgresql+psycopg://latte@127.0.0.1:")
    assert "is unavailable" in err
    assert err.count("\n") == 1


def test_wrong_database_credentials_are_one_line(project, postgres_server, capsys):
    url = fresh_database(postgres_server).replace("postgres@", "mallory:secret-pw@")
    code, _, err = run(capsys, "--registry-url", url, "list")
    assert code == 1
    assert 'role "mallory" does not exist' in err
    assert "secret-pw" not in err
    assert err.count("\n") == 1
