"""Names, aliases, selectors, metrics and lineage: accepted forms and clear refusals."""

from __future__ import annotations

import math

import pytest

from latte.registry import InvalidInputError, Selector, parse_selector
from latte.registry.values import check_name, clean_lineage, clean_metrics, split_alias


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digits", Selector("digits")),
        ("digits@3", Selector("digits", version=3)),
        ("digits@champion", Selector("digits", alias="champion")),
        ("tumor-v2@production:champion", Selector("tumor-v2", alias="production:champion")),
    ],
)
def test_selectors(text, expected):
    assert parse_selector(text) == expected
    assert str(parse_selector(text)) == text


@pytest.mark.parametrize("text", ["digits@0", "digits@", "digits@Prod", "digits@a:b:c", "@3"])
def test_bad_selectors(text):
    with pytest.raises(InvalidInputError):
        parse_selector(text)


def test_aliases_split_into_environment_and_name():
    assert split_alias("production:champion") == ("production", "champion")
    assert split_alias("champion") == ("", "champion")
    for bad in ("3", "Production:champion", "prod:", ":x", "a b"):
        with pytest.raises(InvalidInputError, match="invalid alias"):
            split_alias(bad)


def test_names():
    assert check_name("digits_v1.2-x") == "digits_v1.2-x"
    for bad in ("", "-x", "a/b", "a b", "x" * 200, "../up"):
        with pytest.raises(InvalidInputError, match="invalid model name"):
            check_name(bad)


def test_metrics_must_be_finite_numbers():
    assert clean_metrics({"a": 1, "b": 0.5}) == {"a": 1.0, "b": 0.5}
    assert clean_metrics(None) == {}
    for bad in ({"a": "x"}, {"a": True}, {"": 1}, {"a": [1]}):
        with pytest.raises(InvalidInputError, match="not a named number"):
            clean_metrics(bad)
    with pytest.raises(InvalidInputError, match="finite"):
        clean_metrics({"a": math.nan})


def test_lineage_values_are_scalars_stored_as_text():
    assert clean_lineage({"git_commit": "abc", "seed": 7}) == {"git_commit": "abc", "seed": "7"}
    for bad in ({"a": None}, {"a": {"b": 1}}, {"": "x"}):
        with pytest.raises(InvalidInputError, match="flatten it"):
            clean_lineage(bad)
