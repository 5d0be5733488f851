"""Extra cost of significance and the moving-block bootstrap in the dependence steps.

Run: ``.venv/bin/python -m bench significance``. One process, one BLAS thread (as a worker of
the block executor), the same simulated cells for every row (``bench_copula.simulated_block``:
monthly precipitation with dry months and gaps, soil moisture joined by planted copulas), the
block functions of the steps, each timed in the same run:

- ``copula_dependence`` with the batched fitter (all 40 families, AIC) without bootstrap, then
  with BOOTSTRAP_REPLICATES 500 (the default) and 1000: the ratio is the bootstrap's extra cost
  (target of issue #16: ≤ 1.5);
- the same at the annual scale (20 values per cell);
- ``lagged_dependence`` (MAX_LAG 12) without bootstrap and with 100 replicates (the default):
  each replicate costs 13 resampled τ per cell, so there the bootstrap dominates a step that is
  cheap without it.
"""

from __future__ import annotations

import time

import numpy as np

from bench.bench_copula import simulated_block
from soilp_qgis.bootstrap import resampling_counts
from soilp_qgis.copula.fit import make_fitter
from soilp_qgis.steps.copula_dependence import CopulaDependenceBlock
from soilp_qgis.steps.lagged_dependence import LaggedDependenceBlock

CELLS = 300


def timed(function, blocks) -> float:
    started = time.perf_counter()
    function(blocks)
    return time.perf_counter() - started


def annual(values: np.ndarray) -> np.ndarray:
    """Yearly means of a monthly block."""
    cells, steps = values.shape
    return np.nanmean(values.reshape(cells, steps // 12, 12), axis=2)


def main() -> None:
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass
    precipitation, soil_moisture = simulated_block(seed=1, cells=CELLS)
    monthly = {"precipitation": precipitation, "soil_moisture": soil_moisture}
    yearly = {"precipitation": annual(precipitation), "soil_moisture": annual(soil_moisture)}
    fitter = make_fitter("batched")
    CopulaDependenceBlock(fitter)({k: v[:20] for k, v in monthly.items()})  # compile, warm up
    print(f"{CELLS} cells, one process, one BLAS thread; seconds per run, ratio to the same step "
          f"without bootstrap in this run")
    print(f"{'step':<44}{'seconds':>9}{'ms/cell':>9}{'ratio':>7}")
    for scale, blocks in (("monthly", monthly), ("annual", yearly)):
        steps = blocks["precipitation"].shape[1]
        base = timed(CopulaDependenceBlock(fitter), blocks)
        print(f"{'copula_dependence ' + scale + ', no bootstrap':<44}{base:9.2f}"
              f"{1e3 * base / CELLS:9.2f}{1.0:7.2f}")
        for replicates in (500, 1000):
            counts = resampling_counts(steps, replicates, 0, seed=0)
            seconds = timed(CopulaDependenceBlock(fitter, counts=counts), blocks)
            print(f"{f'copula_dependence {scale}, {replicates} replicates':<44}{seconds:9.2f}"
                  f"{1e3 * seconds / CELLS:9.2f}{seconds / base:7.2f}")
    base = timed(LaggedDependenceBlock(12, 15), monthly)
    print(f"{'lagged_dependence monthly, no bootstrap':<44}{base:9.2f}{1e3 * base / CELLS:9.2f}"
          f"{1.0:7.2f}")
    counts = resampling_counts(precipitation.shape[1], 100, 0, seed=0)
    seconds = timed(LaggedDependenceBlock(12, 15, counts), monthly)
    print(f"{'lagged_dependence monthly, 100 replicates':<44}{seconds:9.2f}"
          f"{1e3 * seconds / CELLS:9.2f}{seconds / base:7.2f}")


if __name__ == "__main__":
    main()
