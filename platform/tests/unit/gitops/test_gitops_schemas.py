"""Rendered-manifest parsing, Kubernetes schema validation and CRD schema loading."""

import pytest

from latte.gitops.errors import GitopsError
from latte.gitops.manifests import Manifest, parse_manifests, workload_containers
from latte.gitops.schemas import load_crd_schemas, validate_crds, validate_kubernetes

RENDERED = """---
# Source: chart/templates/svc.yaml
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}]
---
# Source: chart/templates/empty.yaml
---
# Source: chart/templates/thing.yaml
apiVersion: example.com/v1
kind: Thing
metadata: {name: t}
spec: {size: 3}
"""

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  group: example.com
  names: {kind: Thing}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""


def test_documents_keep_their_template_and_empty_ones_are_dropped():
    manifests = parse_manifests(RENDERED)
    assert [(m.source, m.name) for m in manifests] == [
        ("chart/templates/svc.yaml", "Service/s"),
        ("chart/templates/thing.yaml", "Thing/t"),
    ]


def test_unparseable_output_names_the_template():
    with pytest.raises(GitopsError, match=r"chart/templates/x.yaml: rendered YAML"):
        parse_manifests("# Source: chart/templates/x.yaml\na: [\n")


def test_kubernetes_schema_rejects_unknown_fields_and_sets_aside_custom_kinds():
    manifests = parse_manifests(RENDERED)
    bad = Manifest("svc.yaml", {**manifests[0].doc, "spec": {"ports": [{"port": "x"}]}})
    findings, custom = validate_kubernetes([manifests[0], bad, manifests[1]])
    assert [m.kind for m in custom] == ["Thing"]
    assert len(findings) == 1
    assert findings[0].file == "svc.yaml"
    assert findings[0].key.startswith("Service/s spec.ports.0.port")


def test_crd_schemas_validate_custom_resources(tmp_path):
    (tmp_path / "thing.yaml").write_text(CRD)
    schemas = load_crd_schemas(tmp_path)
    assert ("example.com/v1", "Thing") in schemas
    good = parse_manifests(RENDERED)[1]
    bad = Manifest("t.yaml", {**good.doc, "spec": {"size": "three"}})
    assert validate_crds([good], schemas) == []
    (finding,) = validate_crds([bad], schemas)
    assert finding.key == "Thing/t spec.size"
    assert "'three' is not of type 'integer'" in finding.message


def test_a_missing_crd_folder_says_how_to_fix_it(tmp_path):
    with pytest.raises(GitopsError, match="LATTE_CRD_SCHEMAS"):
        load_crd_schemas(tmp_path / "nope")


def test_a_broken_crd_file_is_named(tmp_path):
    (tmp_path / "bad.yaml").write_text("a: [\n")
    with pytest.raises(GitopsError, match=r"bad.yaml: not valid YAML"):
        load_crd_schemas(tmp_path)


def test_workload_containers_lists_init_containers_first():
    doc = {
        "kind": "Deployment",
        "spec": {
            "template": {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]}}
        },
    }
    paths = [path for path, _ in workload_containers(Manifest("x", doc))]
    assert paths == ["spec.template.spec.initContainers[i]", "spec.template.spec.containers[c]"]
