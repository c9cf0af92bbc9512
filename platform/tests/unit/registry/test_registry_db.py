"""Connection settings: the URL CloudNativePG writes into its app Secret works as registry_url,
and the reconnect backoff is bounded and jittered."""

from __future__ import annotations

import itertools

from latte.config import load_settings
from latte.registry.db import Reconnect, database_url, make_engine


def test_the_cloudnative_pg_app_secret_uri_is_a_registry_url(tmp_path):
    # the `uri` key of the Secret latte-registry-app (gitops/postgres/cluster.yaml)
    uri = "postgresql://latte:s3cret@latte-registry-rw.latte-registry:5432/latte"
    settings = load_settings(root=tmp_path, environ={"LATTE_REGISTRY_URL": uri})
    url = database_url(settings)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.username) == (
        "latte-registry-rw.latte-registry",
        5432,
        "latte",
        "latte",
    )
    engine = make_engine(url)  # no connection is made until it is used
    try:
        assert engine.pool._pre_ping, "a pooled connection to a failed-over primary is replaced"
        assert "s3cret" not in engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()


def test_backoff_doubles_up_to_its_ceiling_with_jitter():
    waits = list(itertools.islice(Reconnect(first=0.1, longest=1.0).waits(), 8))
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits
    assert len(set(waits)) > 1, "jittered, so writers do not reconnect in lockstep"
