"""Bayesian drivers: wall time to fit one ecoregion with the paper's settings, per sampler.

Run: ``.venv/bin/python -m bench bayes``. Paper settings: 4 chains × (2000 warm-up + 2000 draws),
max tree depth 10, target acceptance 0.8. Two simulated ecoregions with planted coefficients,
residual correlation and (for DATA=cells) correlated random intercepts per cell:
- DATA=ecoregion_mean, n = 240 steps, with the diagonal metric (Stan's and brms's) and the
  low-rank one (the default);
- DATA=cells, 10 cells × 240 steps (2,400 rows, 20 random intercepts) and 200 cells × 240 steps
  (the MAX_CELLS default): first the intercepts sampled (centred, diagonal metric: the reference,
  as brms samples them), then non-centred (10 cells), then integrated out (marginalised) with
  the low-rank metric, the default (nutpie only).
Rows per sampler that imports here (numpyro needs ``jax`` and ``numpyro``, not installed by
default). "compile" is nutpie's numba compile (pymc and numpyro compile inside their sampling
call); "again" refits a second ecoregion of the same shape, reusing nutpie's compiled model as
``fit_ecoregions`` does. "Δmean/sd" is the largest difference in a posterior mean from the first
row's for the same data, in that row's posterior sds (same posterior: well under 0.2 at these
draw counts); "× ref" is the first row's "again" time over this row's (sampling with the model
already compiled, as every ecoregion after the first).
For comparison, brms 2.18 on this 2-core machine: 52 s compile + 367 s sampling for n = 240.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from soilp_qgis.bayes import DriverSampler, SamplerSettings, assemble_ecoregion
from soilp_qgis.bayes.summary import posterior_table

STEPS = 240
CELLS = 10
MAX_CELLS = 200
PAPER = dict(chains=4, tune=2000, draws=2000, max_treedepth=10, target_accept=0.8, seed=1)


def simulated_ecoregion(cells: int, steps: int = STEPS, seed: int = 0) -> dict[str, np.ndarray]:
    """Five ``(cells, steps)`` blocks: P and SM from Ta, GPP, LST and their interactions."""
    rng = np.random.default_rng(seed)
    ta = rng.normal(15.0, 6.0, size=(cells, steps))
    gpp = 2.0 + 0.1 * ta + rng.normal(0.0, 1.0, size=(cells, steps))
    lst = ta + 3.0 + rng.normal(0.0, 2.0, size=(cells, steps))
    z = [(v - v.mean()) / v.std() for v in (ta, gpp, lst)]
    terms = np.stack([z[0], z[1], z[2], z[0] * z[1], z[0] * z[2], z[1] * z[2],
                      z[0] * z[1] * z[2]], axis=-1)
    beta = rng.normal(0.0, 0.4, size=(7, 2))
    noise = rng.multivariate_normal([0, 0], [[1.0, 0.4], [0.4, 1.0]], size=(cells, steps))
    offsets = rng.multivariate_normal([0, 0], [[0.5, 0.2], [0.2, 0.3]], size=(cells, 1))
    y = terms @ beta + noise + offsets
    return dict(precipitation=60.0 + 20.0 * y[..., 0], soil_moisture=0.25 + 0.05 * y[..., 1],
                air_temperature=ta, gpp=gpp, lst=lst)


def samplers() -> list[str]:
    names = ["nutpie", "pymc"]
    if importlib.util.find_spec("jax") and importlib.util.find_spec("numpyro"):
        names.append("numpyro")
    return names


def _fit(sampler: DriverSampler, blocks: dict, data: str, seed: int):
    model_data = assemble_ecoregion(**blocks, data=data, max_cells=200, seed=seed)
    started = time.perf_counter()
    posterior = sampler.sample(model_data, seed=seed)
    return time.perf_counter() - started, posterior


def _means(posterior) -> tuple[np.ndarray, np.ndarray]:
    names = ["intercept", "coefficient", "sigma", "residual_correlation"]
    draws = [posterior.idata.posterior[n].values.reshape(
        posterior.idata.posterior[n].shape[0] * posterior.idata.posterior[n].shape[1], -1)
        for n in names]
    flat = np.concatenate(draws, axis=1)
    return flat.mean(axis=0), flat.std(axis=0)


def main(sampler_names: list[str] | None = None) -> None:
    """Print the table; ``sampler_names`` limits the samplers (default: every one that imports)."""
    names_here = [n for n in samplers() if sampler_names is None or n in sampler_names]
    cases = [("ecoregion_mean", f"n = {STEPS}", 1, "centred", "diagonal"),
             ("ecoregion_mean", f"n = {STEPS}, low-rank", 1, "centred", "low_rank"),
             ("cells", f"{CELLS} cells x {STEPS}, centred", CELLS, "centred", "diagonal"),
             ("cells", f"{CELLS} cells x {STEPS}, non-centred", CELLS, "non_centred",
              "diagonal"),
             ("cells", f"{CELLS} cells x {STEPS}, marginalised, low-rank", CELLS,
              "marginalised", "low_rank"),
             ("cells", f"{MAX_CELLS} cells x {STEPS}, centred", MAX_CELLS, "centred",
              "diagonal"),
             ("cells", f"{MAX_CELLS} cells x {STEPS}, marginalised, low-rank", MAX_CELLS,
              "marginalised", "low_rank")]
    print("one ecoregion, 4 chains x (2000 warm-up + 2000 draws), depth 10, target 0.8; "
          f"samplers here: {', '.join(names_here)}")
    print(f"{'data':<44} {'sampler':<8} {'compile s':>9} {'sample s':>8} {'total s':>8} "
          f"{'again s':>7} {'div':>4} {'depth':>5} {'max rhat':>8} {'min ess':>7} {'Δmean/sd':>8} "
          f"{'× ref':>6}")
    references: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for data, label, cells, form, metric in cases:
        first = simulated_ecoregion(cells, seed=3)
        second = simulated_ecoregion(cells, seed=4)
        reference_row = (form, metric) == ("centred", "diagonal")
        names = names_here if reference_row else [n for n in names_here if n == "nutpie"]
        for name in names:
            sampler = DriverSampler(SamplerSettings(**PAPER, sampler=name, random_intercepts=form,
                                                    mass_matrix=metric))
            total, posterior = _fit(sampler, first, data, seed=3)
            again, _ = _fit(sampler, second, data, seed=4)
            mean, sd = _means(posterior)
            reference = references.setdefault(f"{data} {cells}", (mean, sd, again))
            shift = float(np.max(np.abs(mean - reference[0]) / reference[1]))
            table = posterior_table(posterior.idata, label)
            compile_s = (f"{posterior.compile_seconds:9.1f}" if name == "nutpie"
                         else f"{'inside':>9}")
            print(f"{label:<44} {name:<8} {compile_s} {posterior.sampling_seconds:8.1f} "
                  f"{total:8.1f} {again:7.1f} {posterior.divergences:4d} "
                  f"{posterior.tree_depth_hits:5d} {table['rhat'].max():8.3f} "
                  f"{table['ess_bulk'].min():7.0f} {shift:8.3f} {reference[2] / again:6.2f}",
                  flush=True)
    print("brms 2.18, n = 240, same settings, this machine: 52 s compile + 367 s sampling")


if __name__ == "__main__":
    main()
