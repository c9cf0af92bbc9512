import os
import sys
from pathlib import Path

import pytest

from latte.config import settings_variables

# Shared fixtures for real servers live beside this file.
sys.path.insert(0, str(Path(__file__).parent))
pytest_plugins = ["servers"]


@pytest.fixture(autouse=True)
def _no_outside_latte_settings(monkeypatch):
    """Every test starts without the LATTE_* variables (and aliases) of whoever runs it.

    A CI job exports its registry, artifact store, cache and tokens; a test that goes through
    the CLI would read them (and look models up in the shared registry). Tests set what they
    need themselves. Session- and module-scoped fixtures are set up before this one, so the
    few that locate test data through the environment (LATTE_CRD_SCHEMAS) still see it.
    """
    for name in settings_variables(os.environ):
        monkeypatch.delenv(name)
