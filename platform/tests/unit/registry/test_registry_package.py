"""The package's public surface: every name in __all__ resolves, and nothing heavy loads early."""

from __future__ import annotations

import subprocess
import sys

import pytest

import latte.registry


def test_every_public_name_resolves():
    for name in latte.registry.__all__:
        assert getattr(latte.registry, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        latte.registry.nope  # noqa: B018


def test_the_registry_commands_load_without_sqlalchemy():
    code = (
        "import argparse, sys, latte.registry, latte.registry.cli; "
        "latte.registry.cli.register(argparse.ArgumentParser().add_subparsers()); "
        "sys.exit(1 if 'sqlalchemy' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
