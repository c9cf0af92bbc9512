"""The routing rules of a release file: one line naming the file, the key and the value."""

import pytest

from latte.release.errors import ReleaseError
from latte.release.routing import (
    canary_of,
    canary_route,
    check_release,
    full_route,
    routed_versions,
    with_weight,
)

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
WHERE = "gitops/envs/dev/release.yaml"


def _doc(route, artifacts=None):
    return {
        "models": {
            "digits": {"version": 2, "digest": B, "artifacts": artifacts or {"1": A, "2": B}}
        },
        "routing": {"digits": route},
    }


def test_routed_versions_cover_stable_weights_and_shadow():
    route = canary_route(1, 2, 10, shadow=True)
    assert routed_versions(route) == [1, 2]
    assert routed_versions({"stable": 3, "versions": {"3": 100}, "shadow": 5}) == [3, 5]
    assert canary_of(route) == 2
    assert canary_of(full_route(2)) is None


def test_a_good_canary_passes():
    check_release(WHERE, _doc(canary_route(1, 2, 10, shadow=False)))
    check_release(WHERE, _doc(full_route(2), {"2": B}))


def test_weights_that_do_not_sum_to_100_are_refused_naming_file_key_and_value():
    route = {**canary_route(1, 2, 10, shadow=False), "versions": {"1": 90, "2": 20}}
    with pytest.raises(ReleaseError) as err:
        check_release(WHERE, _doc(route))
    assert str(err.value) == (
        f"{WHERE}: routing.digits.versions: weights {{1: 90, 2: 20}} sum to 110, not 100; "
        "give the versions whole-number weights that add up to 100"
    )


def test_a_routed_version_without_its_digest_is_refused():
    with pytest.raises(ReleaseError, match=r"models\.digits\.artifacts\.1: None is not a digest"):
        check_release(WHERE, _doc(canary_route(1, 2, 10, shadow=False), {"2": B}))
    shadow = {**full_route(2), "shadow": 1}
    with pytest.raises(ReleaseError, match=r"artifacts\.1: None"):
        check_release(WHERE, _doc(shadow, {"2": B}))


def test_a_stable_that_is_not_weighted_is_refused():
    with pytest.raises(ReleaseError, match=r"routing\.digits\.stable: 7 is not one of"):
        check_release(WHERE, _doc({**full_route(2), "stable": 7}))


def test_moving_the_weight_and_the_full_cut_over():
    route = canary_route(1, 2, 10, shadow=True)
    assert with_weight(route, 50)["versions"] == {"1": 50, "2": 50}
    assert with_weight(route, 50)["shadow"] == 2
    assert with_weight(route, 100) == full_route(2)
    with pytest.raises(ValueError, match="no canary"):
        with_weight(full_route(2), 50)


def test_malformed_versions_and_shadows_are_named_not_raised():
    with pytest.raises(ReleaseError, match=r"routing\.digits\.versions: \{x: 100\}: versions are"):
        check_release(WHERE, _doc({"stable": 1, "versions": {"x": 100}}))
    with pytest.raises(ReleaseError, match=r"routing\.digits\.shadow: 'two' is not a version"):
        check_release(WHERE, _doc({**full_route(2), "shadow": "two"}))
