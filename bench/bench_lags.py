"""Lagged Kendall τ speed and memory: 10,000 cells × 240 monthly steps, lags 0–12.

Prints cells/s of :func:`soilp_qgis.lags.lagged_dependence` for a few chunk sizes, the
peak memory traced by ``tracemalloc`` during one run (inputs excluded), the process's peak
resident memory, and a plain per-cell ``scipy.stats.kendalltau`` loop on a subset for scale.
"""

from __future__ import annotations

import resource
import time
import tracemalloc

import numpy as np
from scipy import stats

from soilp_qgis.lags import lagged_dependence

CELLS = 10_000
STEPS = 240
MAX_LAG = 12
SCIPY_CELLS = 100


def simulated_block(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Monthly precipitation with dry months and soil moisture lagging it, 5 % missing, float32."""
    rng = np.random.default_rng(seed)
    precipitation = np.round(rng.gamma(0.7, 50.0, size=(CELLS, STEPS + 2)), 0)
    precipitation[rng.random(precipitation.shape) < 0.3] = 0.0
    soil_moisture = 0.2 + 0.001 * (precipitation[:, 2:] + 0.5 * precipitation[:, 1:-1])
    soil_moisture += rng.normal(0, 0.02, soil_moisture.shape)
    precipitation = precipitation[:, 2:].copy()
    precipitation[rng.random(precipitation.shape) < 0.05] = np.nan
    soil_moisture[rng.random(soil_moisture.shape) < 0.05] = np.nan
    return precipitation.astype(np.float32), soil_moisture.astype(np.float32)


def scipy_loop(precipitation: np.ndarray, soil_moisture: np.ndarray) -> None:
    for p, s in zip(precipitation, soil_moisture):
        for k in range(MAX_LAG + 1):
            x, y = p[: STEPS - k], s[k:]
            both = np.isfinite(x) & np.isfinite(y)
            stats.kendalltau(x[both], y[both])


def main() -> None:
    precipitation, soil_moisture = simulated_block()
    print(f"{CELLS} cells × {STEPS} steps, lags 0–{MAX_LAG}, float32 input, 5 % missing")
    print(f"{'method':<34}{'seconds':>10}{'cells/s':>12}")
    for chunk in (512, 2048, 8192):
        started = time.perf_counter()
        lagged_dependence(precipitation, soil_moisture, max_lag=MAX_LAG, chunk_cells=chunk)
        seconds = time.perf_counter() - started
        print(f"{'lagged_dependence chunk ' + str(chunk):<34}{seconds:>10.2f}"
              f"{CELLS / seconds:>12.0f}")
    subset = slice(0, SCIPY_CELLS)
    started = time.perf_counter()
    scipy_loop(precipitation[subset], soil_moisture[subset])
    seconds = time.perf_counter() - started
    print(f"{'scipy.stats.kendalltau per cell':<34}{seconds:>10.2f}{SCIPY_CELLS / seconds:>12.0f}")

    tracemalloc.start()
    lagged_dependence(precipitation, soil_moisture, max_lag=MAX_LAG)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs = precipitation.nbytes + soil_moisture.nbytes
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(f"peak traced memory of one run (default chunk): {peak / 2**20:.1f} MiB "
          f"(inputs {inputs / 2**20:.1f} MiB, not counted)")
    print(f"peak resident memory of the process: {max_rss:.0f} MiB")


if __name__ == "__main__":
    main()
