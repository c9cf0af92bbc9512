"""A small real repository in tmp_path: two packages, four targets, real subprocess actions."""

from __future__ import annotations

import textwrap
from pathlib import Path

# Concatenate inputs into <out>/data.txt (+ a nested file), log to stdout and stderr.
ACT = textwrap.dedent(
    """\
    import pathlib, sys
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    data = "".join(pathlib.Path(p).read_text() for p in sys.argv[2:])
    (out / "data.txt").write_text(data)
    (out / "sub").mkdir(exist_ok=True)
    (out / "sub" / "n.txt").write_text(str(len(data)))
    print("built", out.as_posix())
    print("note from", out.name, file=sys.stderr)
    """
)

BUILD_A = textwrap.dedent(
    """\
    [[target]]
    name = "gen"
    srcs = ["src/**/*.txt", "act.py"]
    outs = ["build/a/gen"]
    command = ["{python}", "a/act.py", "build/a/gen", "a/src/one.txt", "a/src/deep/two.txt"]
    env = ["TASKS_TEST_FLAVOUR"]
    tools = ["pytest"]

    [[target]]
    name = "use"
    srcs = ["use.txt", "act.py"]
    deps = [":gen"]
    outs = ["build/a/use"]
    command = ["{python}", "a/act.py", "build/a/use", "a/use.txt", "build/a/gen/data.txt"]
    """
)

BUILD_B = textwrap.dedent(
    """\
    [[target]]
    name = "solo"
    srcs = ["*.txt", "act.py"]
    outs = ["build/b/solo"]
    command = ["{python}", "b/act.py", "build/b/solo", "b/solo.txt"]

    [[target]]
    name = "top"
    srcs = ["act.py"]
    deps = ["//a:use", ":solo"]
    outs = ["build/b/top"]
    command = [
      "{python}", "b/act.py", "build/b/top", "build/a/use/data.txt", "build/b/solo/data.txt"
    ]
    """
)


def write_repo(root: Path) -> Path:
    files = {
        "latte.toml": "",
        "a/pyproject.toml": '[project]\nname = "a"\n',
        "a/BUILD.toml": BUILD_A,
        "a/act.py": ACT,
        "a/src/one.txt": "one\n",
        "a/src/deep/two.txt": "two\n",
        "a/use.txt": "use\n",
        "b/pyproject.toml": '[project]\nname = "b"\n',
        "b/BUILD.toml": BUILD_B,
        "b/act.py": ACT,
        "b/solo.txt": "solo\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
