"""Strict (kubeconform-style) CRD validation and the CEL note."""

from latte.gitops.crds import Missing, crd_result
from latte.gitops.manifests import Manifest
from latte.gitops.schemas import cel_note, cel_rule_count, strict_schema, validate_crds

SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "self.size > 0"}],
            "properties": {
                "size": {"type": "integer"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                         "properties": {"known": {"type": "string"}}},
                "items": {"type": "array", "items": {
                    "type": "object", "properties": {"name": {"type": "string"}},
                    "x-kubernetes-validations": [{"rule": "a"}, {"rule": "b"}],
                }},
                "port": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "either": {"type": "object", "properties": {"a": {}, "b": {}},
                           "oneOf": [{"properties": {"a": {}}, "required": ["a"]},
                                     {"properties": {"b": {}}, "required": ["b"]}]},
            },
        },
    },
}  # fmt: skip
KEY = ("example.com/v1", "Thing")


def _thing(spec):
    return Manifest("t.yaml", {"apiVersion": KEY[0], "kind": KEY[1], "metadata": {}, "spec": spec})


def test_unknown_fields_are_rejected_where_properties_are_listed():
    (finding,) = validate_crds([_thing({"size": 1, "sise": 2})], {KEY: SCHEMA})
    assert finding.file == "t.yaml"
    assert finding.key == "Thing/? spec"
    assert "'sise' was unexpected" in finding.message


def test_nested_array_items_are_strict_too():
    (finding,) = validate_crds([_thing({"items": [{"name": "a", "nmae": "b"}]})], {KEY: SCHEMA})
    assert finding.key == "Thing/? spec.items.0"


def test_preserved_unknown_fields_and_value_branches_stay_open():
    spec = {"free": {"anything": 1}, "port": "http", "either": {"a": 1}}
    assert validate_crds([_thing(spec)], {KEY: SCHEMA}) == []


def test_strict_schema_does_not_change_its_input():
    strict = strict_schema(SCHEMA)
    assert strict["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in SCHEMA["properties"]["spec"]
    assert "additionalProperties" not in strict["properties"]["spec"]["properties"]["free"]
    branch = strict["properties"]["spec"]["properties"]["either"]["oneOf"][0]
    assert "additionalProperties" not in branch


def test_an_explicit_additional_properties_schema_is_kept():
    schema = {"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "string"}}
    assert strict_schema(schema)["additionalProperties"] == {"type": "string"}


def test_cel_rules_are_counted_and_reported_not_evaluated():
    assert cel_rule_count(SCHEMA) == 3
    note = cel_note([_thing({})], {KEY: SCHEMA})
    assert note.startswith("3 CEL rules (x-kubernetes-validations) not evaluated offline")
    assert "Thing 3" in note
    assert cel_note([], {KEY: SCHEMA}) == ""


def test_a_hand_written_kind_without_crd_is_a_finding():
    other = Manifest("o.yaml", {"apiVersion": "x/v1", "kind": "Other", "metadata": {"name": "o"}})
    result = crd_result("training", [_thing({"size": 1}), other], {KEY: SCHEMA}, Missing.FINDING)
    assert result.status == "failed"
    assert [str(f) for f in result.findings] == [
        "o.yaml: Other/o: no CRD schema for x/v1 Other in crd_schemas"
    ]
    assert "CEL rules" in result.reason
