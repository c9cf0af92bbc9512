"""Where things live under ``gitops/``: the chart, the environment folders, the Argo CD files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from latte.gitops.errors import GitopsError

__all__ = ["CHART", "GitopsLayout"]

CHART = "latte-inference"


@dataclasses.dataclass(frozen=True)
class GitopsLayout:
    """Paths of one repository's gitops folder; ``root`` is the repository root."""

    root: Path
    folder: Path
    chart: Path
    argocd: Path
    envs: dict[str, Path]
    # ClusterTrainingRuntimes and Kueue queues for `latte train --emit trainjob`
    training: Path | None = None
    # the registry's optional CloudNativePG cluster; production's further regions
    postgres: Path | None = None
    regions: Path | None = None

    @classmethod
    def discover(cls, root: Path, folder: str = "gitops") -> GitopsLayout:
        gitops = root / folder
        chart = gitops / "charts" / CHART
        if not (chart / "Chart.yaml").is_file():
            raise GitopsError(
                f"no Helm chart at {chart.relative_to(root)}/Chart.yaml; run from the repository "
                "root (or pass -C ROOT)"
            )
        envs_dir = gitops / "envs"
        envs = (
            {p.name: p for p in sorted(envs_dir.iterdir()) if p.is_dir()}
            if envs_dir.is_dir()
            else {}
        )
        return cls(
            root=root,
            folder=gitops,
            chart=chart,
            argocd=gitops / "argocd",
            envs=envs,
            training=gitops / "training",
            postgres=gitops / "postgres",
            regions=gitops / "regions",
        )

    def env(self, name: str) -> Path:
        if name not in self.envs:
            known = ", ".join(self.envs) or "none"
            raise GitopsError(
                f"unknown environment {name!r} (known: {known}); add gitops/envs/{name}/"
            )
        return self.envs[name]

    def value_files(self, env: str) -> list[Path]:
        """The files Argo CD passes to helm for ``env``, in precedence order."""
        folder = self.env(env)
        return [folder / "values.yaml", folder / "release.yaml"]

    def region_value_files(self, region: str) -> list[Path]:
        """What Argo CD passes to helm for production in ``region``: production's values, the
        region's, then production's release (which wins, as in every env)."""
        production = self.env("production")
        regions = self.regions or self.folder / "regions"
        return [production / "values.yaml", regions / region / "values.yaml",
                production / "release.yaml"]  # fmt: skip

    def region_names(self) -> list[str]:
        """The region folders under ``gitops/regions/`` (none when it is absent)."""
        if self.regions is None or not self.regions.is_dir():
            return []
        return sorted(p.name for p in self.regions.iterdir() if p.is_dir())

    def label(self, path: Path) -> str:
        """A path as the repository names it (what a message shows)."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()
