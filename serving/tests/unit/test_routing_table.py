import collections
import random

import pytest
from serving_models import write_repository

from latte_serving.errors import ConfigFileError
from latte_serving.repository import load_repository
from latte_serving.routing import ModelRoute, load_routing


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return load_repository(write_repository(tmp_path_factory.mktemp("r") / "repo"))


def _file(tmp_path, text):
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    return path


def test_without_a_file_the_latest_version_takes_everything(models):
    table = load_routing(None, models)
    assert table.route("tiny").weights == ((4, 1.0),)
    assert table.route("tiny").stable == 4
    assert table.route("plain").versions == (1,)


def test_file_sets_weights_shadow_header_and_timeout(models, tmp_path):
    path = _file(
        tmp_path,
        "models:\n  tiny:\n    stable: 1\n    weights: {1: 90, 2: 10, 4: 0}\n    shadow: 3\n"
        "    sticky_header: X-User\n    canary_timeout_ms: 250\n",
    )
    route = load_routing(path, models).route("tiny")
    assert route.weights == ((1, 90.0), (2, 10.0))  # a zero weight gets no traffic
    assert route.shadow == 3
    assert route.sticky_header == "x-user"
    assert route.canary_timeout_s == 0.25
    assert route.versions == (1, 2, 3)


def test_weighted_pick_follows_weights_and_keys_are_stable():
    route = ModelRoute("m", stable=1, weights=((1, 70.0), (2, 20.0), (3, 10.0)))
    rng = random.Random(4)
    counts = collections.Counter(route.pick(None, rng) for _ in range(20_000))
    assert abs(counts[1] / 20_000 - 0.7) < 0.02
    assert abs(counts[3] / 20_000 - 0.1) < 0.02
    assert {route.pick("user-1", random.Random(i)) for i in range(50)} == {
        route.pick("user-1", rng)
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models:\n  ghost: {stable: 1}\n", "unknown model"),
        ("models:\n  tiny: {stable: 9}\n", "stable version 9 is not loaded"),
        ("models:\n  tiny: {stable: x}\n", "must be a version number"),
        ("models:\n  tiny: {stable: 1, weights: {1: -1}}\n", "must be >= 0"),
        ("models:\n  tiny: {stable: 1, weights: {1: 0}}\n", "add up to 0"),
        ("models:\n  tiny: {stable: 1, weights: [1]}\n", "must map version"),
        ("models:\n  tiny: {stable: 1, canary_timeout_ms: 0}\n", "positive number"),
        ("models:\n  tiny: [1]\n", "expected a mapping"),
        ("models: [1]\n", "needs a 'models:' mapping"),
        ("models: {tiny: {stable: 1}\n", "cannot read routing file"),
    ],
)
def test_bad_routing_files_are_named(models, tmp_path, text, message):
    with pytest.raises(ConfigFileError, match=message):
        load_routing(_file(tmp_path, text), models)
