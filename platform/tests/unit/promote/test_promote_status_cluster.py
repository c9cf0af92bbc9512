from latte.promote import EnvStatus, ReleaseInfo, cluster_lines, read_cluster


class FakeCustomObjects:
    """Answers like the Kubernetes API would for one Application and its Rollouts."""

    def __init__(self):
        self.calls = []

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.calls.append((group, version, namespace, plural, name))
        return {
            "spec": {"destination": {"namespace": "latte-staging"}},
            "status": {"sync": {"status": "Synced", "revision": "a" * 40},
                       "health": {"status": "Progressing"}},
        }  # fmt: skip

    def list_namespaced_custom_object(self, group, version, namespace, plural):
        self.calls.append((group, version, namespace, plural))
        return {"items": [{"metadata": {"name": "gateway"},
                           "status": {"phase": "Paused", "currentStepIndex": 1,
                                      "message": "CanaryPauseStep"}}]}  # fmt: skip


def test_read_cluster_reports_application_and_rollouts():
    api = FakeCustomObjects()
    lines = read_cluster(api, ["staging"], lambda env: f"latte-{env}")
    assert lines == [
        "staging: Argo CD latte-staging sync=Synced health=Progressing revision=aaaaaaaaaaaa",
        "staging: Rollout gateway phase=Paused step=1 CanaryPauseStep",
    ]
    assert api.calls == [
        ("argoproj.io", "v1alpha1", "argocd", "applications", "latte-staging"),
        ("argoproj.io", "v1alpha1", "latte-staging", "rollouts"),
    ]


def test_cluster_is_skipped_with_one_line_reason(tmp_path):
    rows = [EnvStatus(env="dev", release=ReleaseInfo.empty())]
    (skipped,) = cluster_lines("", rows)
    assert skipped.startswith("cluster: skipped (no kubeconfig")
    (unreachable,) = cluster_lines(str(tmp_path / "missing-kubeconfig"), rows)
    assert unreachable.startswith(f"cluster: skipped (cannot read the cluster from {tmp_path}")


def test_an_aborted_canary_points_at_rollback():
    class Aborted(FakeCustomObjects):
        def list_namespaced_custom_object(self, group, version, namespace, plural):
            return {"items": [{"metadata": {"name": "gateway"},
                               "status": {"phase": "Degraded", "abort": True}}]}  # fmt: skip

    lines = read_cluster(Aborted(), ["staging"], lambda env: f"latte-{env}")
    assert lines[1] == (
        "staging: Rollout gateway phase=Degraded step=- -> aborted: "
        "run `latte rollback staging` to put git back in step"
    )
