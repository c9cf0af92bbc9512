import textwrap

import pytest

from latte.tasks.errors import BuildFileError, TaskError
from latte.tasks.graph import Graph, find_build_files
from latte.tasks.labels import Label


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def target(name, deps=(), srcs=("*.py",), outs=None, extra=""):
    outs = outs or [f"build/{name}"]
    return (
        f'[[target]]\nname = "{name}"\nsrcs = {list(srcs)!r}\ndeps = {list(deps)!r}\n'
        f'outs = {outs!r}\ncommand = ["true"]\n{extra}\n'
    ).replace("'", '"')


def test_graph_orders_selects_and_renders(tmp_path):
    write(
        tmp_path,
        {
            "p/BUILD.toml": target("a") + target("b", deps=[":a"]),
            "p/x.py": "",
            "q/nested/BUILD.toml": target("c", deps=["//p:b"]),
            "q/nested/y.py": "",
            "build/BUILD.toml": "ignored = true",
            ".hidden/BUILD.toml": "ignored = true",
        },
    )
    graph = Graph.load(tmp_path)
    assert [str(x) for x in graph.order] == ["//p:a", "//p:b", "//q/nested:c"]
    assert graph.inputs[Label("p", "a")] == ("p/x.py",)
    assert [str(x) for x in graph.closure([Label("q/nested", "c")])] == [
        "//p:a",
        "//p:b",
        "//q/nested:c",
    ]
    assert [str(x) for x in graph.dependants([Label("p", "b")])] == ["//p:b", "//q/nested:c"]
    assert [str(x) for x in graph.select(["//q/...", "//p:a"])] == ["//p:a", "//q/nested:c"]
    assert graph.render_text().splitlines()[1] == "//p:b <- //p:a"
    dot = graph.render_dot()
    assert dot.startswith("digraph latte {")
    assert '"//p:b" -> "//q/nested:c";' in dot
    with pytest.raises(TaskError, match="matches no target"):
        graph.select(["//r/..."])


def test_find_build_files_stops_two_levels_down(tmp_path):
    write(
        tmp_path,
        {"BUILD.toml": "", "a/BUILD.toml": "", "a/b/BUILD.toml": "", "a/b/c/BUILD.toml": ""},
    )
    found = [p.relative_to(tmp_path).as_posix() for p in find_build_files(tmp_path)]
    assert found == ["BUILD.toml", "a/BUILD.toml", "a/b/BUILD.toml"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"p/BUILD.toml": target("a", deps=["//p:nope"])},
            r"p/BUILD.toml: target 'a': dep //p:nope does not exist "
            r"\(targets in //p: //p:a\); fix 'deps'",
        ),
        (
            {"p/BUILD.toml": target("a", deps=[":b"]) + target("b", deps=[":a"])},
            r"target 'a': dependency cycle //p:a -> //p:b -> //p:a; remove one of the deps",
        ),
        (
            {"p/BUILD.toml": target("a", srcs=["src/*.py"])},
            r"target 'a': srcs glob 'src/\*.py' matches no file under p/",
        ),
        ({"p/BUILD.toml": target("a") + target("a")}, r"target 'a': duplicate label //p:a"),
        (
            {"p/BUILD.toml": target("a") + target("b", outs=["build/a/x"])},
            r"target 'b': out 'build/a/x' overlaps 'build/a' of //p:a",
        ),
        (
            {"p/BUILD.toml": "[[target]]\nsrcs = []\n"},
            r"p/BUILD.toml: a \[\[target\]\] has no 'name'",
        ),
        (
            {"p/BUILD.toml": target("a", extra="srsc = []")},
            r"target 'a': unknown key\(s\) srsc; known:",
        ),
        (
            {"p/BUILD.toml": target("a", extra='callable = "m:f"')},
            r"target 'a': set exactly one of 'command' or 'callable'",
        ),
        (
            {"p/BUILD.toml": target("a", outs=["../escape"])},
            r"target 'a': path '../escape' must be relative",
        ),
        (
            {"p/BUILD.toml": target("a", extra='env = ["NOT-A-VAR"]')},
            r"env entry 'NOT-A-VAR' is not a variable name",
        ),
        (
            {"p/BUILD.toml": target("a", extra="tools = [1]")},
            r"'tools' must be a list of non-empty strings",
        ),
        ({"p/BUILD.toml": target("a", extra="description = 3")}, r"'description' must be a string"),
        (
            {"p/BUILD.toml": target("a", deps=["nolabel"])},
            r"target 'a': 'nolabel' is not a target label",
        ),
        ({"p/BUILD.toml": "[[target]\n"}, r"p/BUILD.toml: not valid TOML"),
        ({"p/BUILD.toml": "[other]\n"}, r"p/BUILD.toml: only \[\[target\]\] tables are allowed"),
    ],
)
def test_build_file_errors_name_file_target_and_fix(tmp_path, files, message):
    write(tmp_path, {"p/x.py": "", **files})
    with pytest.raises(BuildFileError, match=message):
        Graph.load(tmp_path)


def test_callable_must_name_module_and_function(tmp_path):
    text = '[[target]]\nname = "a"\ncallable = "not a callable"\n'
    write(tmp_path, {"p/BUILD.toml": text})
    with pytest.raises(BuildFileError, match=r"must look like 'package\.module:function'"):
        Graph.load(tmp_path)


def test_command_placeholders_are_checked_when_parsing(tmp_path):
    text = '[[target]]\nname = "a"\ncommand = ["{pyhton}", "x"]\n'
    write(tmp_path, {"p/BUILD.toml": text})
    with pytest.raises(BuildFileError, match=r"target 'a': command part '\{pyhton\}' has a bad"):
        Graph.load(tmp_path)


def test_an_output_cannot_also_be_a_source(tmp_path):
    write(
        tmp_path,
        {
            "p/BUILD.toml": target("a", srcs=["**/*.py"], outs=["p/gen"]),
            "p/x.py": "",
            "p/gen/out.py": "",
        },
    )
    with pytest.raises(BuildFileError, match=r"srcs match p/gen/out\.py, an output of //p:a"):
        Graph.load(tmp_path)
