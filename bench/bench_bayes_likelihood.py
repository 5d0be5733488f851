"""Bayesian drivers: the marginalised per-cell likelihood as the compiled Op with its gradient
written out (``soilp_qgis.bayes.likelihood``) against the same formula as a pytensor graph
differentiated by pytensor (``graph_logp``, the reference: what the model ran before).

Run: ``.venv/bin/python -m bench bayes_likelihood``. Simulated ecoregions (``bench_bayes``'s
``simulated_ecoregion``) of 200 cells × 240 months (the MAX_CELLS default, monthly) and 200 cells
× 20 years (annual), DATA=cells, the paper's sampler settings and the toolbox's defaults (nutpie,
intercepts integrated out, low-rank metric), each model compiled once then sampled twice (the
second time is what every ecoregion after the first costs). "µs/eval" is one evaluation of the
model's value and gradient in nutpie's compiled function (priors, transforms and likelihood);
"Δmean/sd" the largest difference of a posterior mean from the reference's, in posterior sds
(Monte Carlo noise at these draw counts is ~0.05); "× ref" the reference's sampling time over
this row's.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

import soilp_qgis.bayes.model as model_module
from bench.bench_bayes import PAPER, _means, simulated_ecoregion
from soilp_qgis.bayes import DriverSampler, SamplerSettings, assemble_ecoregion
from soilp_qgis.bayes.likelihood import graph_logp
from soilp_qgis.bayes.model import build_driver_model

CELLS = 200
EVALUATIONS = 20_000


@contextmanager
def graph_likelihood():
    """The model built with the graph form of the likelihood (the reference)."""
    compiled = model_module.marginal_cells_logp
    model_module.marginal_cells_logp = graph_logp
    try:
        yield
    finally:
        model_module.marginal_cells_logp = compiled


def microseconds_per_evaluation(data) -> float:
    import nutpie

    compiled = nutpie.compile_pymc_model(build_driver_model(data))
    function = compiled.logp_func.vm.jit_fn
    shared = [v.get_value() for v in compiled.logp_func.get_shared()]
    point = np.random.default_rng(0).normal(0.0, 0.1, size=compiled.n_dim)
    function(point, *shared)
    started = time.perf_counter()
    for _ in range(EVALUATIONS):
        function(point, *shared)
    return (time.perf_counter() - started) / EVALUATIONS * 1e6


def run(data) -> tuple[float, float, float, tuple]:
    sampler = DriverSampler(SamplerSettings(**PAPER))
    started = time.perf_counter()
    sampler.sample(data)
    first = time.perf_counter() - started
    started = time.perf_counter()
    posterior = sampler.sample(data)
    again = time.perf_counter() - started
    return first, again, microseconds_per_evaluation(data), _means(posterior)


def main() -> None:
    print(f"{'data':24s} {'likelihood':26s} {'first s':>8s} {'again s':>8s} {'µs/eval':>8s} "
          f"{'Δmean/sd':>9s} {'× ref':>6s}")
    for label, steps in (("200 cells × 240 months", 240), ("200 cells × 20 years", 20)):
        blocks = simulated_ecoregion(CELLS, steps, seed=3)
        data = assemble_ecoregion(**blocks, data="cells", max_cells=CELLS, seed=0)
        with graph_likelihood():
            reference = run(data)
        compiled = run(data)
        ref_mean, ref_sd = reference[3]
        for name, (first, again, micro, (mean, _)) in (("graph, autodiff (ref)", reference),
                                                       ("compiled Op, by hand", compiled)):
            gap = np.max(np.abs(mean - ref_mean) / ref_sd)
            print(f"{label:24s} {name:26s} {first:8.1f} {again:8.2f} {micro:8.1f} {gap:9.3f} "
                  f"{reference[1] / again:6.2f}", flush=True)


if __name__ == "__main__":
    main()
