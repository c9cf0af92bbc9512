"""`latte gitops check` on the registry's CloudNativePG manifests (gitops/postgres/) and on
production's further regions (gitops/regions/): strict CRD schemas, the HA shape, and
production rendered with each region's values. No cluster or operator runs here: the CRD
schemas and the chart are what is checked (CEL rules and the operator's webhooks are not)."""

import shutil

import pytest
from ruamel.yaml import YAML

from latte.cli import main
from latte.gitops.check import render_env, run_checks
from latte.gitops.layout import GitopsLayout

pytestmark = pytest.mark.integration


def _edit(path, change):
    yaml = YAML()
    docs = list(yaml.load_all(path))
    change(docs)
    yaml.dump_all(docs, path)


def _check(root, capsys, monkeypatch, crd_dir, *extra):
    monkeypatch.setenv("LATTE_CRD_SCHEMAS", str(crd_dir))
    code = main(["-C", str(root), "gitops", "check", *extra])
    return code, capsys.readouterr().out


def test_the_shipped_postgres_and_region_manifests_pass_strictly(gitops_repo, helm, crd_dir):
    layout = GitopsLayout.discover(gitops_repo)
    results = {r.name: r for r in run_checks(layout, helm, crd_dir, ["production"])}
    for name in (
        "postgres CRD schemas",
        "postgres HA",
        "regions CRD schemas",
        "regions",
        "values (production@eu-west)",
        "CRD schemas (production@eu-west)",
        "policy (production@eu-west)",
    ):
        assert results[name].status == "passed", (name, results[name].findings)
    assert "Cluster 9" in results["postgres CRD schemas"].reason  # CEL rules: said, not passed


def test_the_second_region_renders_its_own_store_and_host_with_production_s_release(
    gitops_repo, helm
):
    layout = GitopsLayout.discover(gitops_repo)
    manifests, failed = render_env(layout, helm, "production", layout.region_value_files("eu-west"))
    assert failed == []
    docs = {m.name: m.doc for m in manifests}
    ingress = docs["Ingress/latte-production-gateway"]
    assert ingress["spec"]["rules"][0]["host"] == "eu-west.latte.example.com"
    triton = docs["Deployment/latte-production-triton"]["spec"]["template"]["spec"]
    (fetch,) = triton["initContainers"]
    env = {e["name"]: e.get("value") for e in fetch["env"]}
    assert env["LATTE_S3_ENDPOINT"] == "s3.eu-west.example.com"
    assert env["LATTE_ARTIFACT_STORE_URL"] == "s3://latte-models-eu-west/artifacts"
    assert env["LATTE_S3_REGION"] == "eu-west-1"
    assert "--instance-kind=gpu" in fetch["args"], "production's own values still apply"
    spread = triton["topologySpreadConstraints"]
    assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} == {
        c["topologyKey"] for c in spread
    }


def test_a_misspelled_cluster_field_fails_naming_file_and_path(
    gitops_repo, capsys, monkeypatch, crd_dir
):
    path = gitops_repo / "gitops/postgres/cluster.yaml"
    _edit(path, lambda d: d[0]["spec"]["backup"]["barmanObjectStore"].update(wall={}))
    code, out = _check(gitops_repo, capsys, monkeypatch, crd_dir, "--env", "dev")
    assert code == 1
    assert "failed  postgres CRD schemas" in out
    assert (
        "gitops/postgres/cluster.yaml: Cluster/latte-registry spec.backup.barmanObjectStore: "
        "schema: Additional properties are not allowed ('wall' was unexpected)"
    ) in out


def test_a_cluster_in_one_zone_without_backups_fails_the_ha_check(
    gitops_repo, capsys, monkeypatch, crd_dir
):
    def weaken(docs):
        spec = docs[0]["spec"]
        spec["instances"] = 1
        spec["affinity"]["podAntiAffinityType"] = "preferred"
        del spec["backup"]

    _edit(gitops_repo / "gitops/postgres/cluster.yaml", weaken)
    (gitops_repo / "gitops/postgres/scheduledbackup.yaml").unlink()
    code, out = _check(gitops_repo, capsys, monkeypatch, crd_dir, "--env", "dev")
    assert code == 1
    assert "failed  postgres HA" in out
    for key, message in (
        ("spec.instances", "needs 3 instances"),
        ("spec.affinity", "instances must be spread over zones"),
        ("spec.backup.barmanObjectStore", "WAL archive and base backups"),
        ("(document)", "no ScheduledBackup for cluster latte-registry"),
    ):
        assert f"gitops/postgres/cluster.yaml: Cluster/latte-registry {key}: {message}" in out


def test_a_replica_without_an_archive_source_and_a_region_without_values_fail(
    gitops_repo, capsys, monkeypatch, crd_dir
):
    replica = gitops_repo / "gitops/regions/eu-west/postgres-replica.yaml"
    _edit(replica, lambda d: d[0]["spec"]["replica"].update(source="elsewhere"))
    shutil.copytree(gitops_repo / "gitops/regions/eu-west", gitops_repo / "gitops/regions/ap")
    (gitops_repo / "gitops/regions/ap/values.yaml").unlink()
    code, out = _check(gitops_repo, capsys, monkeypatch, crd_dir, "--env", "dev")
    assert code == 1
    assert "failed  regions" in out
    assert "Cluster/latte-registry-eu-west spec.replica.source: replica source 'elsewhere'" in out
    assert "gitops/regions/ap/values.yaml: (file): missing: a region folder" in out


def test_region_values_are_checked_against_the_chart_schema(
    gitops_repo, capsys, monkeypatch, crd_dir
):
    values = gitops_repo / "gitops/regions/eu-west/values.yaml"
    values.write_text(values.read_text() + "replicas: 3\n")
    code, out = _check(gitops_repo, capsys, monkeypatch, crd_dir, "--env", "production")
    assert code == 1
    assert "failed  helm lint (production@eu-west)" in out
    assert "passed  helm lint (production)" in out


def test_an_applicationset_that_drops_the_release_layer_is_reported(
    gitops_repo, capsys, monkeypatch, crd_dir
):
    path = gitops_repo / "gitops/regions/applicationset.yaml"
    _edit(path, lambda d: d[0]["spec"]["template"]["spec"]["source"]["helm"]["valueFiles"].pop())
    code, out = _check(gitops_repo, capsys, monkeypatch, crd_dir, "--env", "dev")
    assert code == 1
    assert (
        "ApplicationSet/latte-regions spec.template.spec.source.helm.valueFiles: must layer" in out
    )
