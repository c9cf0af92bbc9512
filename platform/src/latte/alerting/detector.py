"""Anomalies in one series that has no peer to compare with (traffic, events, model latency).

A robust seasonal profile plus a level-adjusted residual score, with every parameter taken
from the series itself:

1. the series is put on a regular grid (median step); missing points stay NaN;
2. the period is the lag of the highest autocorrelation peak (when not given; none when the
   peak is weak, so a flat series is not forced into a season);
3. the seasonal profile is the median, per phase, of the series minus its rolling median;
4. two scores in units of their own robust scale (1.4826 * MAD): the deseasonalised value
   against the trailing median level (spikes, the start of a shift) and the trailing level
   against the level one period earlier (shifts and slow drifts that a trailing median absorbs);
5. points over ``THRESHOLD`` robust sigmas, merged into windows.

numpy is imported here only, so the CLI starts without it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "THRESHOLD",
    "Window",
    "detect",
    "estimate_period",
    "latest_score",
    "robust_zscore_baseline",
]

# One threshold for every series, in robust sigmas of that series' own residuals.
THRESHOLD = 5.0
_MAD = 1.4826
_MIN_ACF = 0.3
# A deviation under this fraction of the series' level is never scored as more than noise: a
# steady, quantised series (a request rate under paced load) has a MAD of almost nothing, and
# a one-second stall would otherwise score as a 5-sigma event. Chosen once, not per series.
_REL_NOISE_FLOOR = 0.02


@dataclasses.dataclass(frozen=True)
class Window:
    start: float
    end: float
    score: float


def _grid(
    t: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    order = np.argsort(t)
    t, y = t[order], y[order]
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    index = np.round((t - t[0]) / step).astype(int)
    grid_y = np.full(int(index[-1]) + 1, np.nan)
    grid_y[index] = y
    return t[0] + step * np.arange(len(grid_y)), grid_y


def _fill(y: NDArray[np.float64]) -> NDArray[np.float64]:
    ok = ~np.isnan(y)
    if ok.all():
        return y
    x = np.arange(len(y))
    return np.interp(x, x[ok], y[ok])


def _rolling_median(y: NDArray[np.float64], window: int, *, centred: bool) -> NDArray[np.float64]:
    from numpy.lib.stride_tricks import sliding_window_view

    window = max(1, min(window, len(y)))
    if centred:
        left = window // 2
        padded = np.concatenate([np.full(left, np.nan), y, np.full(window - 1 - left, np.nan)])
    else:
        padded = np.concatenate([np.full(window, np.nan), y[:-1]])  # strictly before t
    views = sliding_window_view(padded, window)[: len(y)]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(np.nanmedian(views, axis=1), dtype=np.float64)


def _scale(x: NDArray[np.float64], floor: float = 0.0) -> float:
    """The robust sigma of ``x`` (1.4826 MAD), never under ``floor``; the standard deviation
    only when both are zero (a constant series at level 0)."""
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return 1.0
    mad = float(np.median(np.abs(x - np.median(x)))) * _MAD
    if max(mad, floor) > 1e-12:
        return max(mad, floor)
    return max(float(np.std(x)), 1e-12)


def estimate_period(y: NDArray[np.float64], max_lag: int | None = None) -> int:
    """The lag of the highest autocorrelation peak, or 0 when there is no clear season."""
    filled = _fill(y)
    x = filled - filled.mean()
    n = len(x)
    if n < 8 or not np.any(x):
        return 0
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    acf = acf / acf[0]
    top = min(max_lag or n // 2, n - 1)
    peaks = [
        lag for lag in range(2, top)
        if acf[lag] > acf[lag - 1] and acf[lag] >= acf[lag + 1] and acf[lag] > _MIN_ACF
    ]  # fmt: skip
    return max(peaks, key=lambda lag: acf[lag]) if peaks else 0


def scores(y: NDArray[np.float64], period: int) -> NDArray[np.float64]:
    """The anomaly score of every grid point (NaN where the point is missing)."""
    filled = _fill(y)
    season = np.zeros_like(filled)
    if period >= 2:
        trend = _rolling_median(filled, period, centred=True)
        detrended = filled - trend
        phases = np.arange(len(filled)) % period
        profile = np.array([np.nanmedian(detrended[phases == p]) for p in range(period)])
        season = profile[phases]
    deseason = filled - season
    span = max(period, 12)
    short = max(span // 4, 3)
    level = _rolling_median(deseason, short, centred=False)
    level[:short] = np.nan  # a median of a few first points is no level yet
    residual = deseason - level
    slow = _rolling_median(deseason, span, centred=False)
    slow[:span] = np.nan
    earlier = np.full_like(slow, np.nan)  # the level one span before (none for short series)
    earlier[span:] = slow[:-span]
    drift = slow - earlier
    floor = _REL_NOISE_FLOOR * float(np.nanmedian(np.abs(deseason)))
    spike_or_shift = np.abs(residual) / _scale(residual, floor)
    score = np.fmax(spike_or_shift, np.abs(drift) / _scale(drift, floor))
    score[np.isnan(y)] = np.nan
    return np.asarray(score, dtype=np.float64)


def _windows(
    t: NDArray[np.float64], score: NDArray[np.float64], threshold: float, gap: int
) -> list[Window]:
    hot = np.flatnonzero(np.nan_to_num(score) > threshold)
    out: list[Window] = []
    if len(hot) == 0:
        return out
    start = prev = int(hot[0])
    for i in [*map(int, hot[1:]), None]:
        if i is not None and i - prev <= gap:
            prev = i
            continue
        out.append(
            Window(float(t[start]), float(t[prev]), float(np.nanmax(score[start : prev + 1])))
        )
        if i is not None:
            start = prev = i
    return out


def detect(
    t: NDArray[np.float64], y: NDArray[np.float64], period: int | None = None
) -> list[Window]:
    """Anomalous windows of the series ``y`` observed at times ``t`` (seconds)."""
    grid_t, grid_y = _grid(t, y)
    chosen = estimate_period(grid_y) if period is None else period
    span = max(chosen, 12)
    return _windows(grid_t, scores(grid_y, chosen), THRESHOLD, gap=max(span // 4, 3))


def latest_score(
    t: NDArray[np.float64], y: NDArray[np.float64], period: int | None = None, recent: int = 3
) -> tuple[float, int] | None:
    """The score of the newest scored point among the last ``recent`` grid points, and the
    period used; None when they are all missing (nothing new to judge)."""
    _, grid_y = _grid(t, y)
    chosen = estimate_period(grid_y) if period is None else period
    tail = scores(grid_y, chosen)[-recent:]
    finite = tail[np.isfinite(tail)]
    return (float(finite[-1]), chosen) if len(finite) else None


def robust_zscore_baseline(
    t: NDArray[np.float64], y: NDArray[np.float64], threshold: float = 3.5
) -> list[Window]:
    """The plain baseline: |y - median| / (1.4826 MAD) over the whole series."""
    grid_t, grid_y = _grid(t, y)
    z = np.abs(grid_y - np.nanmedian(grid_y)) / _scale(grid_y)
    return _windows(grid_t, z, threshold, gap=3)
