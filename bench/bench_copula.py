"""Per-cell copula fits: cells/s of ``PyvinecopulibFitter.fit_block`` on 200 cells × 240 months.

Run: ``.venv/bin/python -m bench copula``. One process, the same simulated block for every row:
monthly precipitation (gamma amounts, about 30 % dry months, 3 % missing) and soil moisture
joined by a mix of planted copulas (Gaussian of both signs, Clayton, Gumbel). Rows:
- the fitter with the paper's settings (all 40 families, AIC, empirical margins), with the
  one-parameter family set, and with parametric margins;
- a plain per-cell pyvinecopulib loop (``Bicop.from_data``, same parametric families without
  VineCopula's restricted Tawn types, AIC, no TLL) on the same pseudo-observations, for scale.
The lead's executor benchmark adds the 1- and 2-process numbers.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats

from soilp_qgis.copula import families as fam
from soilp_qgis.copula.fit import PyvinecopulibFitter, pyvinecopulib_families
from soilp_qgis.copula.margins import pseudo_observations

CELLS = 200
STEPS = 240
PARAMETRIC_CELLS = 50


def simulated_block(seed: int = 0, cells: int = CELLS, steps: int = STEPS):
    """(precipitation, soil moisture) ``(cells, steps)`` float32 with dry months and gaps."""
    rng = np.random.default_rng(seed)
    u = np.empty((cells, steps, 2))
    for i in range(cells):
        kind = i % 4
        if kind == 0:  # Gaussian, positive or negative
            rho = rng.uniform(-0.6, 0.8)
            z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=steps)
            u[i] = stats.norm.cdf(z)
        elif kind == 1:  # Clayton
            theta = rng.uniform(0.5, 4.0)
            frailty = rng.gamma(1 / theta, size=steps)
            u[i] = (1 + rng.exponential(size=(steps, 2)) / frailty[:, None]) ** (-1 / theta)
        elif kind == 2:  # Gumbel through a positive stable frailty
            alpha = 1 / rng.uniform(1.2, 3.0)
            angle, w = rng.uniform(0, np.pi, steps), rng.exponential(size=steps)
            s = (np.sin(alpha * angle) / np.sin(angle) ** (1 / alpha)
                 * (np.sin((1 - alpha) * angle) / w) ** ((1 - alpha) / alpha))
            u[i] = np.exp(-(rng.exponential(size=(steps, 2)) / s[:, None]) ** alpha)
        else:  # weak dependence
            rho = rng.uniform(-0.2, 0.2)
            z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=steps)
            u[i] = stats.norm.cdf(z)
    precipitation = stats.gamma.ppf(u[..., 0], 0.8, scale=60.0)
    precipitation[u[..., 0] < 0.3] = 0.0
    soil_moisture = 0.1 + 0.3 * u[..., 1]
    precipitation[rng.random(precipitation.shape) < 0.03] = np.nan
    soil_moisture[rng.random(soil_moisture.shape) < 0.03] = np.nan
    return precipitation.astype(np.float32), soil_moisture.astype(np.float32)


def plain_loop(precipitation: np.ndarray, soil_moisture: np.ndarray) -> int:
    """pyvinecopulib's own per-cell selection on pseudo-observations (no Tawn types)."""
    import pyvinecopulib as pv

    controls = pv.FitControlsBicop(family_set=pyvinecopulib_families(fam.ALL_CODES),
                                   parametric_method="mle", selection_criterion="aic",
                                   num_threads=1)
    fitted = 0
    for p, s in zip(precipitation.astype(float), soil_moisture.astype(float)):
        keep = np.isfinite(p) & np.isfinite(s)
        data = np.column_stack([pseudo_observations(p[keep]), pseudo_observations(s[keep])])
        pv.Bicop.from_data(data, controls=controls)
        fitted += 1
    return fitted


def _timed(run) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    precipitation, soil_moisture = simulated_block()
    PyvinecopulibFitter().fit_block(precipitation[:2], soil_moisture[:2])  # imports, warm-up
    print(f"{CELLS} cells x {STEPS} steps, 1 process (cells/s by wall clock and by CPU time)")
    print(f"{'what':<46} {'wall s':>7} {'cells/s':>8} {'cpu s':>7} {'cells/cpu-s':>11}")
    rows = [("fit_block: all 40 families, AIC, empirical", PyvinecopulibFitter(), CELLS),
            ("fit_block: one-parameter families, AIC",
             PyvinecopulibFitter(family_set="one_parameter"), CELLS),
            ("fit_block: as the first, parametric margins*",
             PyvinecopulibFitter(margins="parametric"), PARAMETRIC_CELLS)]
    for label, fitter, cells in rows:
        wall, cpu, result = _timed(lambda: fitter.fit_block(precipitation[:cells],
                                                            soil_moisture[:cells]))
        print(f"{label:<46} {wall:7.2f} {cells / wall:8.1f} {cpu:7.2f} {cells / cpu:11.1f}"
              f"   (status 0: {int((result.status == 0).sum())} of {cells})")
    wall, cpu, _ = _timed(lambda: plain_loop(precipitation, soil_moisture))
    label = "plain pyvinecopulib loop (no Tawn types)"
    print(f"{label:<46} {wall:7.2f} {CELLS / wall:8.1f} {cpu:7.2f} {CELLS / cpu:11.1f}")
    print(f"* on the first {PARAMETRIC_CELLS} cells")


if __name__ == "__main__":
    main()
