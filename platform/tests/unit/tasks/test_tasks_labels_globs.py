import pytest

from latte.tasks.errors import TaskError
from latte.tasks.globs import Glob, walk_files
from latte.tasks.labels import Label, matches_pattern, validate_pattern


def test_label_parses_and_prints():
    label = Label.parse("//models/vision:digits")
    assert (label.package, label.name) == ("models/vision", "digits")
    assert str(label) == "//models/vision:digits"
    assert label.slug == "models__vision--digits"
    assert Label.parse(":data", package="models") == Label("models", "data")
    assert str(Label.parse("//:root")) == "//:root"


@pytest.mark.parametrize("text", ["models:digits", "//models", "//models:", "//../x:y", "//a b:c"])
def test_bad_labels_say_how_to_write_one(text):
    with pytest.raises(TaskError, match="label"):
        Label.parse(text)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("//...", True),
        ("//models/...", True),
        ("//mod/...", False),
        ("//models:all", False),
        ("//models/vision:all", True),
        ("//models/vision:digits", True),
        ("//models/vision:other", False),
    ],
)
def test_patterns(pattern, expected):
    assert validate_pattern(pattern) == pattern
    assert matches_pattern(Label("models/vision", "digits"), pattern) is expected


def test_bad_pattern_is_rejected():
    with pytest.raises(TaskError):
        validate_pattern("models/...")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "src/a.txt", False),
        ("src/*.py", "src/x/a.py", False),
        ("**", "anything/at/all", True),
        ("data/file?.[ct]sv", "data/file1.csv", True),
        ("data/file?.[!ct]sv", "data/file1.csv", False),
        ("a+b/(x).py", "a+b/(x).py", True),
    ],
)
def test_glob_matching(pattern, path, expected):
    assert Glob.compile(pattern).matches(path) is expected


def test_glob_base_is_the_literal_prefix():
    assert Glob.compile("src/pkg/**/*.py").base == "src/pkg"
    assert Glob.compile("*.py").base == ""


def test_walk_finds_files_and_skips_caches(tmp_path):
    for name in ("src/a.py", "src/sub/b.py", "src/__pycache__/a.pyc", "src/x.egg-info/P", "top.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    globs = [Glob.compile("src/**"), Glob.compile("top.py"), Glob.compile("missing.py")]
    found = [(g.pattern, p) for g, p in walk_files(tmp_path, globs)]
    assert found == [("src/**", "src/a.py"), ("src/**", "src/sub/b.py"), ("top.py", "top.py")]
