"""Lagged dependence: Kendall's τ-b between precipitation at t and soil moisture at t + k.

Paper section 2.2.1: per cell, τ for lags k = 0 … 12 months; the optimal lag is the k with
the largest |τ|. Pure functions over ``(cells, time)`` blocks, NaN = missing, vectorised
across cells (see :mod:`soilp_qgis.kendall` for how τ-b is computed).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import InputError
from .kendall import (
    DEFAULT_CHUNK_CELLS,
    STATUS_CONSTANT_SERIES,
    STATUS_FITTED,
    STATUS_NO_DATA,
    STATUS_TOO_FEW_VALUES,
    as_pair_blocks,
    check_min_observations,
    series_ranks,
    tau_b_from_ranks,
)


class LaggedDependence(NamedTuple):
    """Per-cell lagged dependence of soil moisture on precipitation.

    ``tau_by_lag[:, k]`` is τ-b between precipitation at t and soil moisture at t + k (NaN
    where that lag has fewer valid pairs than the minimum or a constant series);
    ``n_pairs_by_lag[:, k]`` the number of valid pairs behind it; ``optimal_lag`` (float,
    NaN when no lag has a τ) the k with the largest |τ|; ``tau_at_optimal_lag`` the signed
    τ there; ``status`` the uint8 code of resources/status_codes.json (0 as soon as one lag
    has a τ). Cells with status ≠ 0 are NaN in every other float output.
    """

    tau_by_lag: np.ndarray
    n_pairs_by_lag: np.ndarray
    optimal_lag: np.ndarray
    tau_at_optimal_lag: np.ndarray
    status: np.ndarray


def lagged_kendall_tau(
    precipitation: np.ndarray,
    soil_moisture: np.ndarray,
    max_lag: int = 12,
    min_observations: int = 15,
) -> np.ndarray:
    """``(cells, max_lag + 1)`` array: column k is τ-b of precipitation(t) vs soil moisture(t + k).

    Per cell and lag only the pairs where both values are valid are used; a lag with fewer
    than ``min_observations`` such pairs, or with a constant series, is NaN.
    """
    return lagged_dependence(precipitation, soil_moisture, max_lag, min_observations).tau_by_lag


def optimal_lag(tau_by_lag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the lag with the largest |τ| and the (signed) τ there.

    Equal |τ| at several lags picks the smallest lag; a cell with no τ at any lag gives
    NaN for both. The lag is returned as float64 so that it can carry NaN.
    """
    tau_by_lag = np.asarray(tau_by_lag, dtype=np.float64)
    if tau_by_lag.ndim != 2:
        raise InputError(f"tau_by_lag must be a (cells, lags) array, got shape {tau_by_lag.shape}.")
    strength = np.abs(tau_by_lag)
    has_tau = ~np.isnan(strength).all(axis=1)
    best = np.argmax(np.where(np.isnan(strength), -1.0, strength), axis=1)  # first maximum
    lag = np.where(has_tau, best.astype(np.float64), np.nan)
    tau_at_lag = np.where(has_tau, np.take_along_axis(tau_by_lag, best[:, None], axis=1)[:, 0], np.nan)
    return lag, tau_at_lag


def lagged_dependence(
    precipitation: np.ndarray,
    soil_moisture: np.ndarray,
    max_lag: int = 12,
    min_observations: int = 15,
    chunk_cells: int = DEFAULT_CHUNK_CELLS,
) -> LaggedDependence:
    """τ by lag, optimal lag, τ at the optimal lag and status for a ``(cells, time)`` block.

    Cell status: 1 no data (no valid pair at any lag), 2 too few values (fewer than
    ``min_observations`` valid pairs at every lag), 3 constant series (enough pairs at some
    lag but a constant series wherever there are), else 0.
    """
    precipitation, soil_moisture = as_pair_blocks(precipitation, soil_moisture)
    cells, steps = precipitation.shape
    max_lag = _check_max_lag(max_lag, steps)
    minimum = check_min_observations(min_observations)
    lags = max_lag + 1
    tau_by_lag = np.full((cells, lags), np.nan)
    n_pairs_by_lag = np.zeros((cells, lags), dtype=np.int64)
    chunk_cells = max(1, int(chunk_cells))
    for start in range(0, cells, chunk_cells):
        part = slice(start, min(start + chunk_cells, cells))
        ranks_p, valid_p = series_ranks(precipitation[part])
        ranks_s, valid_s = series_ranks(soil_moisture[part])
        for k in range(lags):
            window = steps - k
            tau, _, n_pairs = tau_b_from_ranks(
                ranks_p[:, :window],
                ranks_s[:, k:],
                valid_p[:, :window] & valid_s[:, k:],
                chunk_cells,
            )
            tau[n_pairs < minimum] = np.nan
            tau_by_lag[part, k] = tau
            n_pairs_by_lag[part, k] = n_pairs
    status = _cell_status(tau_by_lag, n_pairs_by_lag, minimum)
    lag, tau_at_lag = optimal_lag(tau_by_lag)
    return LaggedDependence(tau_by_lag, n_pairs_by_lag, lag, tau_at_lag, status)


def _cell_status(tau_by_lag: np.ndarray, n_pairs_by_lag: np.ndarray, minimum: int) -> np.ndarray:
    """One status per cell from the per-lag statuses (see :func:`lagged_dependence`)."""
    most_pairs = n_pairs_by_lag.max(axis=1)
    status = np.full(most_pairs.shape, STATUS_CONSTANT_SERIES, dtype=np.uint8)
    status[(~np.isnan(tau_by_lag)).any(axis=1)] = STATUS_FITTED
    status[most_pairs < minimum] = STATUS_TOO_FEW_VALUES
    status[most_pairs == 0] = STATUS_NO_DATA
    return status


def _check_max_lag(max_lag: int, steps: int) -> int:
    if isinstance(max_lag, (bool, np.bool_)) or not float(max_lag).is_integer():
        raise InputError(f"MAX_LAG must be a whole number of time steps, got {max_lag!r}.")
    lag = int(max_lag)
    if lag < 0:
        raise InputError(f"MAX_LAG must be 0 or more, got {lag}.")
    if lag >= steps:
        raise InputError(
            f"MAX_LAG ({lag}) must be smaller than the number of time steps ({steps})."
        )
    return lag
