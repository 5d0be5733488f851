"""Benchmark of the preparation science: time aggregation, grid alignment, ecoregions.

Run: ``.venv/bin/python -m bench prepare`` (or ``.venv/bin/python bench/bench_prepare.py``).
Sizes are a 0.25° strip of the Northern Hemisphere: 10,000 cells × 20 years of days for the
aggregation, 240 months of a 0.5° NH grid resampled to 0.25°, the 0.25° NH ecoregion grid.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np

from soilp_qgis.ecoregions import ecoregion_totals, rasterize_ecoregions
from soilp_qgis.prepare import aggregate_time, align_to_grid
from soilp_qgis.timestack import Grid

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "biomes"


def _timed(function, *args, **kwargs) -> tuple[float, float]:
    """(seconds, peak MiB allocated by the call)."""
    tracemalloc.start()
    start = time.perf_counter()
    function(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []
    days = np.arange("2000-01-01", "2020-01-01", dtype="datetime64[D]")
    cells = 10_000
    daily = rng.gamma(0.5, 6.0, size=(cells, days.size)).astype(np.float32)
    daily[rng.random(daily.shape) < 0.01] = np.nan
    for scale, statistic in (("monthly", "sum"), ("monthly", "wet_day_count"),
                             ("seasonal", "mean"), ("annual", "max")):
        seconds, peak = _timed(aggregate_time, daily, days, "daily", scale, statistic)
        rows.append((f"aggregate daily→{scale} {statistic}", f"{cells} cells × {days.size} d",
                     seconds, peak, cells / seconds))
    del daily

    coarse = Grid.regular(-180.0, 90.0, 0.5, 720, 180)
    fine = Grid.regular(-180.0, 90.0, 0.25, 1440, 360)
    monthly = rng.normal(50, 10, size=(240, coarse.height, coarse.width)).astype(np.float32)
    for method in ("average", "bilinear"):
        seconds, peak = _timed(align_to_grid, monthly, coarse, fine, method)
        rows.append((f"align 0.5°→0.25° {method}", "240 × 720×180", seconds, peak,
                     coarse.width * coarse.height / seconds))

    polygons = REAL / "wwf_biomes_polygonized_0p25deg_NH.gpkg"
    if polygons.is_file():
        seconds, peak = _timed(rasterize_ecoregions, polygons, fine)
        rows.append(("rasterize NH biomes 0.25°", "16 polygons → 1440×360", seconds, peak,
                     fine.width * fine.height / seconds))
        codes = rasterize_ecoregions(polygons, fine)
        stack = rng.normal(size=(240, fine.height, fine.width)).astype(np.float32)
        seconds, peak = _timed(ecoregion_totals, stack, codes)
        rows.append(("ecoregion totals 0.25° NH", "240 × 1440×360", seconds, peak,
                     fine.width * fine.height / seconds))

    print(f"{'operation':38s} {'size':24s} {'seconds':>8s} {'peak MiB':>9s} {'cells/s':>12s}")
    for name, size, seconds, peak, rate in rows:
        print(f"{name:38s} {size:24s} {seconds:8.2f} {peak:9.0f} {rate:12,.0f}")


if __name__ == "__main__":
    main()
