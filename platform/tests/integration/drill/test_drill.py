"""A small restore drill end to end: real PostgreSQL, moto's S3 server, real Triton and the
gateway through `latte up dev`; every digest verified, RTO and RPO measured."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from minio import Minio

from latte.cli import main
from latte.drill import DrillConfig, run_drill

pytest.importorskip("pytriton", reason="the real tritonserver comes with nvidia-pytriton")
pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
REPO = Path(__file__).resolve().parents[4]


def test_a_small_drill_restores_verifies_and_serves(postgres_server, s3_endpoint, tmp_path):
    lines: list[str] = []
    config = DrillConfig(
        repo_root=REPO,
        work=tmp_path,
        postgres_url=postgres_server,
        s3_endpoint=s3_endpoint,
        versions=2,
        padding_bytes=64 * 1024,
    )
    report = run_drill(config, on_step=lines.append)
    assert report.first.versions == 1
    assert (report.second.versions, report.second.trees_reused) == (2, 1)
    # the second backup sent the new version's model and weights, not the shared config
    assert report.second.blobs_sent == 2
    assert report.second.bytes_sent < report.first.bytes_sent + 64 * 1024
    assert report.lost_versions == 1  # registered after the last backup: what RPO loses
    assert report.digests_verified == 2
    assert report.serve_s > 0
    assert report.rto_s == pytest.approx(report.restore_s + report.verify_s + report.serve_s)
    text = "\n".join(report.lines())
    assert "RTO (restore start to serving):" in text
    assert "destroying the database and the artifact store" in lines
    # a given server is left as the drill found it: no databases, no objects
    with psycopg.connect(postgres_server) as connection:
        names = [row[0] for row in connection.execute("SELECT datname FROM pg_database")]
    assert [name for name in names if name.startswith("drill_")] == []
    client = Minio(s3_endpoint, "testing", "testing", secure=False)
    for bucket in client.list_buckets():
        if bucket.name.startswith("latte-drill-"):
            assert list(client.list_objects(bucket.name, recursive=True)) == []


def test_too_few_versions_is_one_line_before_any_server_starts(capsys):
    assert main(["drill", "--versions", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "at least 2 versions" in err


def test_an_unreachable_postgres_is_one_line(capsys, s3_endpoint, tmp_path):
    from servers import free_port

    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    argv = ["drill", "--postgres-url", dead, "--s3-endpoint", s3_endpoint, "--work", str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("latte: error: cannot use PostgreSQL for the drill")
