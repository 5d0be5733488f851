"""NUTS sampling of the driver model: nutpie (default), pymc's own NUTS, or numpyro through JAX.

All three sample the same pymc model (same posterior); they differ in speed. nutpie compiles the
model with numba once and reuses the compiled model for every ecoregion with the same number of
parameters (same DATA mode, and number of cells unless the intercepts are marginalised), swapping
only the data. Progress is reported per
chain through ``progress(chain, finished_iterations, total_iterations)`` (tuning included).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import arviz as az
import numpy as np
import pymc as pm

from soilp_qgis.bayes.data import EcoregionData
from soilp_qgis.bayes.model import (RANDOM_INTERCEPT_FORMS, SUMMARY_VARIABLES,
                                    build_driver_model, model_data_arrays)
from soilp_qgis.errors import InputError

#: Metrics nutpie adapts in warm-up (see :class:`SamplerSettings`).
MASS_MATRICES: tuple[str, ...] = ("diagonal", "low_rank")
#: Samplers, fastest first; numpyro needs ``jax`` and ``numpyro`` (not in the default install).
SAMPLERS: tuple[str, ...] = ("nutpie", "pymc", "numpyro")

ChainProgress = Callable[[int, int, int], None]
"""``progress(chain, finished_iterations, total_iterations)``; iterations count tuning too."""

# nutpie renders this template (its progress display mechanism) and hands us the text.
_NUTPIE_PROGRESS_TEMPLATE = ("{% for chain in chains %}{{ chain.finished_draws }}/"
                             "{{ chain.total_draws }};{% endfor %}")
_NUTPIE_PROGRESS_MS = 250


@dataclass(frozen=True)
class SamplerSettings:
    """MCMC settings; the defaults are the paper's: 4 chains × (2000 warm-up + 2000 draws),
    maximum tree depth 10, target acceptance 0.8.

    ``cores``: chains run in parallel on this many cores (default: as many as chains, at most the
    CPU count). ``random_intercepts``: the form of the per-cell intercepts in DATA=cells (see
    :func:`~soilp_qgis.bayes.model.build_driver_model`). ``mass_matrix`` (nutpie): the
    metric adapted in warm-up, ``"diagonal"`` (Stan's and brms's; pymc's NUTS always adapts a
    diagonal one) or ``"low_rank"`` (nutpie's low-rank modified mass matrix, which follows the
    correlations between the interaction terms' coefficients). Both target the same posterior.
    Measured on the demo's synthetic world (layer 1, 4 × (2000 + 2000)): with the intercepts
    sampled (centred), low_rank needed 3–10 times fewer gradients but on the monthly Deserts fit
    one chain stuck (R-hat 1.49, 973 divergent transitions); with them integrated out
    (marginalised, the default) low_rank sampled every ecoregion at both scales in 2.3–5 s (20 or
    200 cells; about 2 s since the likelihood is one compiled operation,
    :mod:`~soilp_qgis.bayes.likelihood`), 0–2 divergent transitions per run, every R-hat ≤
    1.004, where centred with the diagonal metric took 21–47 s per ecoregion at 20 cells (under
    load) and diverged in about half of them.
    """

    chains: int = 4
    tune: int = 2000
    draws: int = 2000
    max_treedepth: int = 10
    target_accept: float = 0.8
    seed: int = 0
    sampler: str = "nutpie"
    cores: int | None = None
    random_intercepts: str = "marginalised"
    mass_matrix: str = "low_rank"

    def validate(self) -> None:
        """Raise :class:`InputError` naming the parameter that is out of range."""
        if self.sampler not in SAMPLERS:
            raise InputError(f"SAMPLER must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.random_intercepts not in RANDOM_INTERCEPT_FORMS:
            raise InputError("RANDOM_INTERCEPTS must be one of "
                             f"{', '.join(RANDOM_INTERCEPT_FORMS)}, got {self.random_intercepts!r}")
        if self.mass_matrix not in MASS_MATRICES:
            raise InputError(f"MASS_MATRIX must be one of {', '.join(MASS_MATRICES)}, "
                             f"got {self.mass_matrix!r}")
        if self.chains < 1:
            raise InputError(f"CHAINS must be at least 1, got {self.chains}")
        if self.tune < 0:
            raise InputError(f"TUNE must be 0 or more, got {self.tune}")
        if self.draws < 1:
            raise InputError(f"DRAWS must be at least 1, got {self.draws}")
        if not 1 <= self.max_treedepth <= 30:
            raise InputError(f"MAX_TREEDEPTH must be between 1 and 30, got {self.max_treedepth}")
        if not 0.0 < self.target_accept < 1.0:
            raise InputError(f"TARGET_ACCEPT must be between 0 and 1, got {self.target_accept}")
        if self.sampler == "numpyro":
            try:
                import jax  # noqa: F401
                import numpyro  # noqa: F401
            except ImportError as exc:
                raise InputError("SAMPLER numpyro needs the jax and numpyro packages in the engine "
                                 "environment (pip install jax numpyro); use nutpie or pymc"
                                 ) from exc

    @property
    def n_cores(self) -> int:
        return self.cores or max(1, min(self.chains, os.cpu_count() or 1))

    @property
    def parallel_fits(self) -> int:
        """How many ecoregions to sample at once: as many as the CPUs hold all their chains
        (nutpie only: its chains run in threads that release the GIL); 1 with fewer CPUs than
        two fits' chains, as on a 2-core machine, where one fit's chains already fill the CPUs."""
        if self.sampler != "nutpie" or self.cores:
            return 1
        return max(1, (os.cpu_count() or 1) // self.chains)


@dataclass
class Posterior:
    """Posterior draws of one ecoregion's model and the sampler's health counts."""

    idata: az.InferenceData
    divergences: int
    tree_depth_hits: int
    sampler: str
    compile_seconds: float
    sampling_seconds: float


def _count(stats, names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in stats:
            return int(np.asarray(stats[name]).astype(bool).sum())
    return None


def _health(idata: az.InferenceData, max_treedepth: int) -> tuple[int, int]:
    """(divergent transitions, draws that hit the maximum tree depth) after warm-up."""
    stats = idata.sample_stats
    divergences = _count(stats, ("diverging",)) or 0
    hits = _count(stats, ("maxdepth_reached", "reached_max_treedepth"))
    if hits is None:
        depth = np.asarray(stats["tree_depth"]) if "tree_depth" in stats else np.zeros(0)
        hits = int((depth >= max_treedepth).sum())
    return divergences, hits


@contextlib.contextmanager
def _quiet_pymc():
    """pymc's INFO lines ("Initializing NUTS…") would only clutter the Processing log."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _stored_variables(model: pm.Model) -> list[str]:
    return [name for name in SUMMARY_VARIABLES if name in model.named_vars]


class DriverSampler:
    """Samples driver models with one setting; keeps nutpie's compiled models for reuse."""

    def __init__(self, settings: SamplerSettings | None = None):
        self.settings = settings or SamplerSettings()
        self.settings.validate()
        self._compiled: dict[tuple[str, int], object] = {}
        self._compiling = threading.Lock()   # fits in threads compile each shape once

    def sample(self, data: EcoregionData, *, seed: int | None = None,
               progress: ChainProgress | None = None) -> Posterior:
        """Posterior of the driver model of ``data``; ``seed`` overrides the settings' seed."""
        seed = self.settings.seed if seed is None else int(seed)
        run = {"nutpie": self._nutpie, "pymc": self._pymc, "numpyro": self._numpyro}
        idata, compile_s, sampling_s = run[self.settings.sampler](data, seed, progress)
        if "cell" in idata.posterior.dims:
            idata.posterior = idata.posterior.assign_coords(cell=np.asarray(data.cells))
        divergences, hits = _health(idata, self.settings.max_treedepth)
        return Posterior(idata, divergences, hits, self.settings.sampler, compile_s, sampling_s)

    # -- nutpie ---------------------------------------------------------------------------------
    def _nutpie_model(self, data: EcoregionData):
        import nutpie

        # the parameters' shapes depend on the number of cells only where the cells' own
        # intercepts are sampled; a marginalised model takes any number of cells' data
        per_cell = data.cell_index is not None and self.settings.random_intercepts != "marginalised"
        key = (data.data, data.n_cells if per_cell else 0)
        with self._compiling:
            compiled = self._compiled.get(key)
            if compiled is None:
                model = build_driver_model(data, self.settings.random_intercepts)
                compiled = nutpie.compile_pymc_model(model, var_names=_stored_variables(model))
                self._compiled[key] = compiled
                return compiled
        return compiled.with_data(**model_data_arrays(data))

    def _nutpie(self, data: EcoregionData, seed: int, progress: ChainProgress | None):
        import nutpie

        s = self.settings
        start = time.perf_counter()
        compiled = self._nutpie_model(data)
        compiled_at = time.perf_counter()
        options = dict(draws=s.draws, tune=s.tune, chains=s.chains, cores=s.n_cores, seed=seed,
                       maxdepth=s.max_treedepth, target_accept=s.target_accept, save_warmup=False,
                       low_rank_modified_mass_matrix=s.mass_matrix == "low_rank")
        if progress is None:
            idata = nutpie.sample(compiled, progress_bar=False, **options)
        else:
            idata = _nutpie_with_progress(nutpie, compiled, options, progress)
        return idata, compiled_at - start, time.perf_counter() - compiled_at

    # -- pymc -----------------------------------------------------------------------------------
    def _pymc(self, data: EcoregionData, seed: int, progress: ChainProgress | None):
        s = self.settings
        model = build_driver_model(data, self.settings.random_intercepts)
        total = s.tune + s.draws
        callback = None
        if progress is not None:
            def callback(trace, draw):  # pymc calls this in the main process for every draw
                progress(int(draw.chain), int(draw.draw_idx) + 1, total)
        start = time.perf_counter()
        with model, _quiet_pymc():
            idata = pm.sample(draws=s.draws, tune=s.tune, chains=s.chains, cores=s.n_cores,
                              random_seed=seed, progressbar=False, callback=callback,
                              var_names=_stored_variables(model),
                              nuts={"target_accept": s.target_accept,
                                    "max_treedepth": s.max_treedepth},
                              compute_convergence_checks=False,
                              idata_kwargs={"log_likelihood": False})
        return idata, 0.0, time.perf_counter() - start

    # -- numpyro --------------------------------------------------------------------------------
    def _numpyro(self, data: EcoregionData, seed: int, progress: ChainProgress | None):
        s = self.settings
        # JAX has no implementation of the compiled likelihood: its graph form, same density
        model = build_driver_model(data, self.settings.random_intercepts,
                                   compiled_likelihood=False)
        start = time.perf_counter()
        with model, _quiet_pymc():
            idata = pm.sample(draws=s.draws, tune=s.tune, chains=s.chains, random_seed=seed,
                              progressbar=False, nuts_sampler="numpyro",
                              var_names=_stored_variables(model), target_accept=s.target_accept,
                              nuts_sampler_kwargs={
                                  "chain_method": "vectorized",
                                  "nuts_kwargs": {"max_tree_depth": s.max_treedepth}},
                              compute_convergence_checks=False,
                              idata_kwargs={"log_likelihood": False})
        if progress is not None:  # numpyro reports nothing while it runs
            for chain in range(s.chains):
                progress(chain, s.tune + s.draws, s.tune + s.draws)
        return idata, 0.0, time.perf_counter() - start


def _nutpie_with_progress(nutpie, compiled, options: dict, progress: ChainProgress):
    """nutpie sampling with per-chain progress, through nutpie's template progress display.

    nutpie's public API only shows progress as a terminal or notebook widget; its sampler also takes
    a template and a callback (what the notebook display uses), which is what this relies on. If a
    nutpie release changes that internal API, sampling falls back to the public call and progress
    is reported once per chain at the end.
    """
    from nutpie import _lib
    from nutpie.sample import _BackgroundSampler

    def on_text(text: str) -> None:
        for chain, part in enumerate(p for p in text.split(";") if p):
            done, total = part.split("/")
            progress(chain, int(done), int(total))

    try:
        metric = (_lib.PyNutsSettings.LowRank if options["low_rank_modified_mass_matrix"]
                  else _lib.PyNutsSettings.Diag)
        settings = metric(options["seed"])
        settings.num_tune = options["tune"]
        settings.num_draws = options["draws"]
        settings.num_chains = options["chains"]
        settings.maxdepth = options["maxdepth"]
        settings.target_accept = options["target_accept"]
        progress_type = _lib.ProgressType.template_callback(
            _NUTPIE_PROGRESS_MS, _NUTPIE_PROGRESS_TEMPLATE, options["cores"], on_text)
        background = _BackgroundSampler.__new__(_BackgroundSampler)
        background._settings = settings
        background._compiled_model = compiled
        background._save_warmup = options["save_warmup"]
        background._return_raw_trace = False
        background._html = None
        background._store = _lib.PyStorage.arrow()
        background._sampler = compiled._make_sampler(
            settings, np.zeros(compiled.n_dim), options["cores"], progress_type, background._store)
    except (AttributeError, TypeError):
        idata = nutpie.sample(compiled, progress_bar=False, **options)
        total = options["tune"] + options["draws"]
        for chain in range(options["chains"]):
            progress(chain, total, total)
        return idata
    return background.wait()
