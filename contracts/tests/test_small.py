"""Timestamps, layout and free ports."""

from __future__ import annotations

import datetime as dt
import socket

from latte_contracts.layout import BuildLayout
from latte_contracts.ports import free_port
from latte_contracts.timestamps import parse_utc, utc_now, utc_timestamp


def test_timestamps_are_utc_whatever_zone_the_moment_is_in():
    moment = dt.datetime(2026, 12, 1, 23, 5, 9, 999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_timestamp(moment) == "2026-12-01T21:05:09Z"
    assert utc_timestamp(dt.datetime(2026, 12, 1, 21, 5, 9)) == "2026-12-01T21:05:09Z"
    assert parse_utc("2026-12-01T21:05:09Z") == moment.replace(microsecond=0)
    assert parse_utc(utc_now()).tzinfo is dt.UTC


def test_layout_names_every_path_below_the_build_folder(tmp_path):
    layout = BuildLayout(tmp_path)
    assert layout.model_tree("digits") == tmp_path / "model-repository" / "digits"
    assert layout.metrics("digits") == tmp_path / "models" / "digits" / "metrics.json"
    assert layout.test_split("digits") == tmp_path / "models" / "digits" / "test_split.npz"
    assert layout.bench_report("digits") == tmp_path / "bench" / "digits" / "bench.json"
    assert layout.reports == tmp_path / "reports"
    for name in ("tumor", "digits"):
        layout.metrics(name).parent.mkdir(parents=True)
        layout.metrics(name).write_text("{}")
    assert layout.all_metrics() == [layout.metrics("digits"), layout.metrics("tumor")]


def test_a_free_port_can_be_bound_on_loopback():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
