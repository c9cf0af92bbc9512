"""latte's inference benchmarks: Locust concurrency sweeps, SLO gate, report, capacity.

Only :mod:`latte_loadtests.cli` and the modules it imports lazily pull in Locust (and with it
gevent's monkey-patching); importing this package does not.
"""

from importlib.metadata import PackageNotFoundError, version

from latte_loadtests.errors import (
    BenchError,
    BenchUsageError,
    SloFailedError,
    TargetUnreachableError,
)
from latte_loadtests.profiles import ModelProfile, Profiles, Slo, SweepPlan, load_profiles

__all__ = [
    "BenchError",
    "BenchUsageError",
    "ModelProfile",
    "Profiles",
    "Slo",
    "SloFailedError",
    "SweepPlan",
    "TargetUnreachableError",
    "__version__",
    "load_profiles",
]

try:
    __version__ = version("latte-loadtests")
except PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "0.0.0+unknown"
