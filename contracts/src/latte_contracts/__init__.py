"""What latte's packages hand each other, defined once.

``models`` writes a build, the registry stores it, ``loadtests`` benchmarks it and the release
pins it: each of those steps reads what an earlier one wrote. The shapes of those hand-overs
live here, so there is one definition of each: :mod:`~latte_contracts.digest` (the model tree
digest), :mod:`~latte_contracts.reports` (``metrics.json`` and ``bench.json``),
:mod:`~latte_contracts.layout` (where things go under ``build/``),
:mod:`~latte_contracts.atomic` (how a file is replaced), :mod:`~latte_contracts.timestamps`
(the UTC timestamp format) and :mod:`~latte_contracts.ports` (a free loopback port).

Standard library only, and nothing runs at import: every package depends on this one.
Errors derive from :class:`~latte_contracts.errors.ContractError`.
"""

from __future__ import annotations

__all__: list[str] = []
