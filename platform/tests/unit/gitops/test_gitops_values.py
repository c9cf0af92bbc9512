"""Values policy: latest tags, secret values, resource gaps blamed on the right file."""

import pytest

from latte.gitops.errors import GitopsError
from latte.gitops.values import (
    check_merged_resources,
    check_values_file,
    load_values,
    merge_values,
)

CHART = {
    "images": {"gateway": {"repository": "r", "tag": "1.0"}},
    "gateway": {
        "resources": {
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        }
    },
}


def test_clean_values_pass():
    assert check_values_file(CHART, "values.yaml") == []


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"images": {"gateway": {"tag": "latest"}}}, "images.gateway.tag"),
        ({"sidecar": {"image": "busybox:latest"}}, "sidecar.image"),
        ({"gateway": {"password": "hunter2"}}, "gateway.password"),
        ({"s3": {"secretAccessKey": "wJalrXUtnFEMI/K7MDENG"}}, "s3.secretAccessKey"),
        ({"s3": {"endpoint": "AKIAIOSFODNN7EXAMPLE"}}, "s3.endpoint"),
        ({"list": [{"token": "abc"}]}, "list[0].token"),
        ({"s3": {"credentialsSecret": "not a name!"}}, "s3.credentialsSecret"),
    ],
)
def test_planted_problems_name_file_and_key(data, key):
    findings = check_values_file(data, "gitops/envs/dev/values.yaml")
    assert [(f.file, f.key) for f in findings] == [("gitops/envs/dev/values.yaml", key)]
    assert str(findings[0]).startswith(f"gitops/envs/dev/values.yaml: {key}: ")


def test_secret_references_by_name_are_allowed():
    data = {"triton": {"credentialsSecret": "latte-triton-s3", "apiKeySecret": ""}}
    assert check_values_file(data, "v.yaml") == []


def test_merge_follows_helm_null_deletes_and_deep_merge():
    merged = merge_values([CHART, {"gateway": {"resources": {"limits": {"memory": None}}}}])
    assert merged["gateway"]["resources"]["limits"] == {"cpu": "1"}
    assert merged["images"]["gateway"]["tag"] == "1.0"
    assert CHART["gateway"]["resources"]["limits"]["memory"] == "1Gi"  # inputs untouched


def test_a_deleted_limit_is_blamed_on_the_file_that_deleted_it():
    env = {"gateway": {"resources": {"limits": {"memory": None}}}, "other": 1}
    findings = check_merged_resources([("chart.yaml", CHART), ("env.yaml", env)])
    assert [str(f).split(": ")[:2] for f in findings] == [
        ["env.yaml", "gateway.resources.limits.memory"]
    ]


def test_a_gap_in_the_chart_defaults_is_blamed_on_the_chart():
    chart = {"gateway": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}}
    findings = check_merged_resources([("chart.yaml", chart), ("env.yaml", {"gateway": {}})])
    assert {f.file for f in findings} == {"chart.yaml"}
    assert {f.key for f in findings} == {
        "gateway.resources.limits.cpu",
        "gateway.resources.limits.memory",
    }


def test_load_values_reports_bad_yaml_on_one_line(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("a: [1,\n")
    with pytest.raises(GitopsError, match="cannot read values") as info:
        load_values(path)
    assert "\n" not in str(info.value)


def test_load_values_refuses_a_list_and_reads_empty_as_mapping(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("- 1\n")
    with pytest.raises(GitopsError, match="must be a mapping"):
        load_values(path)
    path.write_text("")
    assert load_values(path) == {}
