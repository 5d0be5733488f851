"""Benchmark of the ridge-control engine: cells/s and peak memory on a 100k-cell x 240-step block.

Run: ``.venv/bin/python bench/bench_ridge.py [--cells N] [--steps T]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from soilp_qgis.ridge import ridge_control


def _block(cells: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Five float32 (cells, steps) stacks (SM, frequency, volume, ET, Ta) with 3 % missing values."""
    rng = np.random.default_rng(seed)
    freq, vol, et, temp = (rng.standard_normal((cells, steps), dtype=np.float32) for _ in range(4))
    sm = 0.6 * vol + 0.3 * freq - 0.4 * et + 0.2 * temp + rng.standard_normal((cells, steps), dtype=np.float32)
    sm[rng.random((cells, steps)) < 0.03] = np.nan
    return [sm, freq, vol, et, temp]


def _measure(block, **kwargs) -> tuple[float, float]:
    """(seconds, peak MiB allocated during the call, inputs excluded)."""
    start = time.perf_counter()
    ridge_control(*block, **kwargs)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    ridge_control(*block, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def _sklearn_loop_rate(block, cells: int) -> float:
    """Cells/s of a plain per-cell loop with scikit-learn's Ridge, for comparison."""
    from sklearn.linear_model import Ridge

    start = time.perf_counter()
    for c in range(cells):
        rows = np.all([np.isfinite(v[c]) for v in block], axis=0)
        z = [(v[c][rows] - v[c][rows].mean()) / v[c][rows].std() for v in block]
        Ridge(alpha=1.0).fit(np.column_stack(z[1:]), z[0])
    return cells / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=240)
    args = parser.parse_args(argv)
    block = _block(args.cells, args.steps)
    input_mib = sum(a.nbytes for a in block) / 2**20
    print(f"ridge control: {args.cells} cells x {args.steps} steps, 4 predictors (with Ta), float32 input "
          f"{input_mib:.0f} MiB")
    print(f"{'case':<32}{'seconds':>10}{'cells/s':>12}{'peak MiB':>10}")
    for label, kwargs in (("fixed alpha = 1", {"alpha": 1.0}), ("automatic alpha (LOO, 25 values)", {})):
        seconds, peak = _measure(block, **kwargs)
        print(f"{label:<32}{seconds:>10.2f}{args.cells / seconds:>12.0f}{peak:>10.0f}")
    loop_cells = min(args.cells, 300)
    print(f"{'sklearn per-cell loop, fixed':<32}{'':>10}{_sklearn_loop_rate(block, loop_cells):>12.0f}{'':>10}")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
