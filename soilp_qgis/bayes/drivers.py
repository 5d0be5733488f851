"""Fit the driver model ecoregion by ecoregion, with progress per ecoregion and chain.

``blocks`` maps each ecoregion label to its five ``(cells, time)`` blocks, keyed like the
arguments of :func:`~soilp_qgis.bayes.data.assemble_ecoregion` (``precipitation``,
``soil_moisture``, ``air_temperature``, ``gpp``, ``lst``). An ecoregion with too few cells or
values is skipped with its reason (logged and kept in the diagnostics); one whose sampling fails is
kept as ``failed``; one that does not converge stays, flagged.
"""

from __future__ import annotations

import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Hashable, Mapping

import numpy as np

from soilp_qgis.bayes.data import EcoregionSkipped, assemble_ecoregion
from soilp_qgis.bayes.sampling import DriverSampler, SamplerSettings
from soilp_qgis.bayes.summary import EcoregionFit, posterior_table

VARIABLE_KEYS: tuple[str, ...] = ("precipitation", "soil_moisture", "air_temperature", "gpp", "lst")


@dataclass(frozen=True)
class DriverProgress:
    """Where a run is: ecoregion ``index`` of ``count``, ``chain`` at ``done`` of ``total``
    iterations (tuning included). ``fraction`` is the whole run's share done, 0–1."""

    ecoregion: Hashable
    index: int
    count: int
    chain: int
    chains: int
    done: int
    total: int
    fraction: float


def ecoregion_seeds(seed: int, ecoregion: Hashable) -> tuple[int, int]:
    """(cell subsample seed, sampler seed) of one ecoregion: fixed by the run seed and the
    ecoregion's label alone, so a run is reproducible whatever other ecoregions it holds."""
    label = zlib.crc32(str(ecoregion).encode("utf-8"))
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, label]).generate_state(2)
    return int(state[0]), int(state[1])


def fit_ecoregion(ecoregion: Hashable, variables: Mapping[str, np.ndarray], sampler: DriverSampler,
                  *, data: str = "cells", max_cells: int = 200, min_values: int = 30,
                  progress: Callable[[int, int, int], None] | None = None) -> EcoregionFit:
    """Assemble, sample and summarise one ecoregion; a skip or a sampling failure is recorded."""
    settings = sampler.settings
    subsample_seed, sampler_seed = ecoregion_seeds(settings.seed, ecoregion)
    missing = [key for key in VARIABLE_KEYS if key not in variables]
    if missing:
        raise KeyError(f"ecoregion {ecoregion}: missing {', '.join(missing)}")
    base = dict(ecoregion=ecoregion, data=data, sampler=settings.sampler,
                chains=settings.chains, draws=settings.draws)
    try:
        model_data = assemble_ecoregion(**{k: variables[k] for k in VARIABLE_KEYS}, data=data,
                                        max_cells=max_cells, seed=subsample_seed,
                                        min_values=min_values)
    except EcoregionSkipped as skipped:
        return EcoregionFit(status="skipped", reason=str(skipped), **base)
    sizes = dict(rows=model_data.n_rows, cells=model_data.n_cells)
    try:
        posterior = sampler.sample(model_data, seed=sampler_seed, progress=progress)
    except (RuntimeError, ValueError, FloatingPointError) as exc:
        return EcoregionFit(status="failed", reason=f"sampling failed: {exc}", **base, **sizes)
    return EcoregionFit(
        status="fitted", **base, **sizes, divergences=posterior.divergences,
        tree_depth_hits=posterior.tree_depth_hits, compile_seconds=posterior.compile_seconds,
        sampling_seconds=posterior.sampling_seconds,
        table=posterior_table(posterior.idata, ecoregion))


def fit_ecoregions(blocks: Mapping[Hashable, Mapping[str, np.ndarray]], *, data: str = "cells",
                   max_cells: int = 200, min_values: int = 30,
                   settings: SamplerSettings | None = None,
                   sampler: DriverSampler | None = None,
                   progress: Callable[[DriverProgress], None] | None = None,
                   log: Callable[[str], None] | None = None,
                   parallel: int | None = None) -> list[EcoregionFit]:
    """Fit every ecoregion in ``blocks`` with one sampler; returns one :class:`EcoregionFit` per
    ecoregion in ``blocks``'s order, skipped and failed ones included.

    Pass ``sampler`` (instead of ``settings``) to reuse its compiled models across calls, e.g.
    across seasons or time scales of one run. ``parallel`` ecoregions are sampled at once, in
    threads sharing the compiled models (default: the settings' ``parallel_fits``, as many as
    the CPUs hold all their chains); each ecoregion's seeds depend on its label only, so the
    results are the same whatever ``parallel`` is. ``progress`` gets the share of all chains'
    iterations done over the whole run.
    """
    sampler = sampler or DriverSampler(settings)
    chains = sampler.settings.chains
    parallel = max(1, int(parallel or sampler.settings.parallel_fits))
    count = len(blocks)
    share = np.zeros((max(count, 1), chains))
    lock = threading.Lock()

    def fit_one(index: int, ecoregion: Hashable, variables) -> EcoregionFit:
        def on_chain(chain: int, done: int, total: int) -> None:
            if progress is None or not 0 <= chain < chains:
                return
            with lock:
                share[index, chain] = done / total if total else 1.0
                fraction = float(share.sum()) / (count * chains)
            progress(DriverProgress(ecoregion, index, count, chain, chains, done, total,
                                    fraction))

        if log is not None:
            log(f"ecoregion {ecoregion} ({index + 1} of {count}): sampling")
        fit = fit_ecoregion(ecoregion, variables, sampler, data=data, max_cells=max_cells,
                            min_values=min_values, progress=on_chain if progress else None)
        if log is not None:
            if fit.status != "fitted":
                log(f"ecoregion {ecoregion} {fit.status}: {fit.reason}")
            elif not fit.converged:
                log(f"ecoregion {ecoregion} did not converge (max R-hat {fit.max_rhat:.3f}, "
                    f"{fit.divergences} divergent transitions); kept, flagged")
        return fit

    jobs = [(index, ecoregion, variables)
            for index, (ecoregion, variables) in enumerate(blocks.items())]
    if parallel == 1 or count < 2:
        return [fit_one(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="soilp-bayes") as pool:
        return list(pool.map(lambda job: fit_one(*job), jobs))
