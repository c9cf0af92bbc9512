"""The table of model families: name -> implementation. Add a model by adding a row."""

from __future__ import annotations

from latte_models._common.family import Family
from latte_models.digits import DigitsFamily
from latte_models.errors import ConfigError
from latte_models.tumor import TumorFamily

__all__ = ["MODELS", "get_family"]

MODELS: dict[str, Family] = {"digits": DigitsFamily(), "tumor": TumorFamily()}


def get_family(name: str) -> Family:
    """The family called ``name``, or a :class:`ConfigError` listing the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}"
        ) from None
