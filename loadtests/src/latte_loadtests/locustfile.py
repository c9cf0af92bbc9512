"""The benchmark as a plain locustfile, for runs by hand with Locust's own CLI or web UI::

    locust -f loadtests/src/latte_loadtests/locustfile.py --host http://127.0.0.1:8000 \\
        --headless --bench-model digits --slo-file loadtests/slo.toml

Same users and bodies as ``python -m latte_loadtests run``; the step sweep (warm-up, then each
concurrency level of ``[sweep]`` in slo.toml) is :class:`~latte_loadtests.scenarios.StepSweepShape`,
so the run stops by itself. Pools are built when the test starts, not at import.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from locust import events

# the scenarios module, not its classes: Locust runs any shape class a locustfile holds
from latte_loadtests import scenarios
from latte_loadtests.bench import fetch_input_spec
from latte_loadtests.payloads import build_pool, held_out_rows
from latte_loadtests.profiles import load_profiles

__all__ = ["BenchUser", "SweepShape"]


class BenchUser(scenarios.InferUser):
    abstract = False
    rows_sent: ClassVar[Counter[str]] = Counter()


class SweepShape(scenarios.StepSweepShape):
    pass


def _add_options(parser: Any) -> None:
    parser.add_argument("--bench-model", action="append", default=[], help="model(s) to load")
    parser.add_argument("--slo-file", default="loadtests/slo.toml", help="profiles and sweep")
    parser.add_argument("--bench-encoding", choices=("binary", "json"), default="binary")


def _set_plan(environment: Any, **_: Any) -> None:
    # at init: the shape ticks once before test_start fires
    SweepShape.plan = load_profiles(Path(environment.parsed_options.slo_file)).sweep


def _build_pools(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    profiles = load_profiles(Path(options.slo_file))
    models = options.bench_model or sorted(profiles.models)
    pools = {}
    for model in models:
        profile = profiles.model(model)
        rows = held_out_rows(
            profile.dataset, test_fraction=profile.test_fraction, seed=profile.seed
        )
        spec = fetch_input_spec(environment.host.rstrip("/"), model)
        pools[model] = build_pool(
            spec, rows, batch_sizes=profile.batch_sizes, encoding=options.bench_encoding
        )
    BenchUser.pools, BenchUser.models, BenchUser.weights = pools, models, [1.0] * len(models)


# A locustfile registers its hooks when Locust imports it; that is its whole job.
events.init_command_line_parser.add_listener(_add_options)  # type: ignore[no-untyped-call]
events.init.add_listener(_set_plan)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_build_pools)  # type: ignore[no-untyped-call]
