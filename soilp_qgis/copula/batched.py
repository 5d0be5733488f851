"""``BatchedFitter``: the copula selection of ``PyvinecopulibFitter`` for all cells of a block in
compiled loops (``selection``, ``optimize``, ``densities``), about two orders of magnitude faster.

Same settings, statuses, candidates, parameter bounds, criterion and outputs as the reference;
the differences are in the optimiser only: Newton with exact derivatives to the maximum within
pyvinecopulib's bounds (the reference's one-parameter fits search a bracket of ±0.1 in τ
around the empirical τ, its two-parameter fits stop where BOBYQA stops), and Student t profiled
over a grid of ν with a parabola and an exact refit at the parabola's ν. Log-likelihoods are
therefore at least the reference's up to the optimisers' tolerances, and parameters agree
where the likelihood is not flat.

Per block: statuses (``fit.cell_status``), uniforms of the valid pairs (``margins``, ties
averaged), empirical τ-b (``kendall``), normal scores and one table of t quantiles for all
distinct uniforms of the block (empirical margins: the ranks r/(n+1) repeat from cell to
cell, so the table is small); then one compiled loop over the cells selects the family; τ and
tail dependence come from ``dependence`` (τ of the Tawn, BB7 and BB8 cells from
``tau_integrals``: the same integrals, compiled, per cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from ..kendall import kendall_tau_b
from . import families as fam
from .dependence import kendall_tau
from .fit import (
    STATUS_FIT_FAILED,
    STATUS_FITTED,
    CopulaBlockResult,
    FitterSettings,
    finish_block,
    start_block,
)
from .margins import parametric_uniforms, pseudo_observations
from .optimize import T_GRID, student_rho, t_constants, t_tables
from .selection import TAWN1_SLOT, TAWN2_SLOT, cell_rows, fit_candidate, select_cells

#: cells per compiled call with parametric margins (their t table is per cell)
PARAMETRIC_CHUNK = 64
#: pyvinecopulib keeps uniforms inside [1e-10, 1 − 1e-10]
TRIM = 1e-10


@lru_cache(maxsize=1)
def start_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """τ ↦ θ interpolation tables of Joe and Frank (for starting values)."""
    joe = np.geomspace(1.0, 30.0, 400)
    frank = np.linspace(-35.0, 35.0, 701)
    frank = frank[frank != 0]
    return (kendall_tau(6, joe), joe, kendall_tau(5, frank), frank)


def allowed_slots(codes) -> np.ndarray:
    """13 flags: base codes 0–10 and the two Tawn types present in the family set."""
    base = set(fam.split_codes(np.asarray(codes))[0].tolist())
    flags = np.zeros(13, dtype=np.bool_)
    for b in base:
        flags[TAWN1_SLOT if b == fam.TAWN_TYPE1 else TAWN2_SLOT if b == fam.TAWN_TYPE2 else b] = 1
    return flags


def _packed(p: np.ndarray, sm: np.ndarray, margins: str, status: np.ndarray):
    """(u1, u2, counts) of the valid pairs, packed to the left of (cells, n_max) arrays."""
    valid = np.isfinite(p) & np.isfinite(sm)
    counts = valid.sum(axis=1)
    if margins == "empirical":
        u1 = pseudo_observations(np.where(valid, p, np.nan))
        u2 = pseudo_observations(np.where(valid, sm, np.nan))
    else:
        u1 = np.full(p.shape, np.nan)
        u2 = np.full(p.shape, np.nan)
        for cell in np.flatnonzero(status == STATUS_FITTED):
            keep = valid[cell]
            try:
                u1[cell, keep] = parametric_uniforms(p[cell, keep], point_mass_at_zero=True)
                u2[cell, keep] = parametric_uniforms(sm[cell, keep], point_mass_at_zero=False)
            except Exception:  # as the reference: a margin that cannot be fitted
                status[cell] = STATUS_FIT_FAILED
    order = np.argsort(~valid, axis=1, kind="stable")  # valid steps first, in time order
    u1 = np.clip(np.take_along_axis(u1, order, axis=1), TRIM, 1 - TRIM)
    u2 = np.clip(np.take_along_axis(u2, order, axis=1), TRIM, 1 - TRIM)
    width = max(int(counts.max(initial=0)), 1)
    return u1[:, :width], u2[:, :width], counts.astype(np.int64)


@lru_cache(maxsize=256)
def rank_t_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``optimize.t_tables`` of the half-integer ranks j/(2(n+1)), j = 0 … 2n+1 (j = 0 unused):
    every pseudo-observation of a cell with n valid pairs, ties averaged, is one of them."""
    values = np.arange(2 * n + 2) / (2.0 * (n + 1))
    values[0] = 0.5
    return t_tables(values)


def _t_pack(u1, u2, counts, empirical: bool, student: bool):
    """t tables for the cells and the index of each uniform in them."""
    if not student:
        empty = np.zeros((T_GRID.size, 1))
        return (empty, empty), np.zeros((2, *u1.shape), dtype=np.int64)
    if empirical:
        distinct = np.unique(counts)
        tables = [rank_t_table(int(n)) for n in distinct]
        sizes = np.array([2 * n + 2 for n in distinct])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        offset = offsets[np.searchsorted(distinct, counts)][:, None]
        index = np.stack([offset + np.rint(u * 2 * (counts[:, None] + 1)).astype(np.int64)
                          for u in (u1, u2)])
        filled = np.arange(u1.shape[1])[None, :] < counts[:, None]
        index = np.where(filled[None], index, 0)
        return (np.concatenate([t[0] for t in tables], axis=1),
                np.concatenate([t[1] for t in tables], axis=1)), index
    values, inverse = np.unique(np.concatenate([u1.ravel(), u2.ravel()]), return_inverse=True)
    return t_tables(values), inverse.reshape(2, *u1.shape)


def _select(u1, u2, counts, taus, penalties, allowed, empirical: bool = True):
    """Run ``select_cells`` on packed cells; polish the t fits that were selected."""
    filled = np.arange(u1.shape[1])[None, :] < counts[:, None]
    u1 = np.where(filled, u1, 0.5)
    u2 = np.where(filled, u2, 0.5)
    (quantiles, margin), index = _t_pack(u1, u2, counts, empirical, bool(allowed[fam.STUDENT]))
    t_pack = (quantiles, margin, t_constants(T_GRID)[None, :], T_GRID[None, :])
    z1, z2 = special.ndtri(u1), special.ndtri(u2)
    slot, rotation, out = select_cells(u1, u2, z1, z2, index[0], index[1], counts, taus,
                                       penalties, allowed, start_tables(), t_pack)
    student = np.flatnonzero(slot == fam.STUDENT)
    for c in student:  # polish: the exact t log-likelihood at the parabola's ν
        n, nu = counts[c], out[c, 3]
        if nu == out[c, 1]:
            continue
        rho, ll = polish_student(u1[c, :n], u2[c, :n], nu, out[c, 0])
        if ll > out[c, 2]:
            out[c, 0], out[c, 1], out[c, 2] = rho, nu, ll
    return slot, rotation, out


def polish_student(u1: np.ndarray, u2: np.ndarray, nu: float, rho: float) -> tuple[float, float]:
    """(ρ, log-likelihood) of the t copula at ν on uniforms (u1, u2), ρ by Newton."""
    x1, x2 = special.stdtrit(nu, u1), special.stdtrit(nu, u2)
    margin = 0.5 * (nu + 1) * (np.log1p(x1 ** 2 / nu) + np.log1p(x2 ** 2 / nu)).sum()
    constant = float(t_constants(np.array([nu]))[0])
    return student_rho(x1, x2, float(margin), constant, float(nu), x1.size, float(rho))


def to_vinecopula(slot: np.ndarray, rotation: np.ndarray, theta: np.ndarray,
                  delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VineCopula (code, par, par2) of selected (slot, rotation, θ, δ)."""
    base = np.where(slot == TAWN1_SLOT, fam.TAWN_TYPE1,
                    np.where(slot == TAWN2_SLOT, fam.TAWN_TYPE2, slot))
    offset = np.select([rotation == 90, rotation == 180, rotation == 270], [20, 10, 30], 0)
    negated = (rotation == 90) | (rotation == 270)
    tawn = base > 100
    par = np.where(negated, -theta, theta)
    par2 = np.where(negated & ~tawn, -delta, delta)
    one_parameter = np.isin(base, (fam.INDEPENDENCE, fam.GAUSSIAN, fam.CLAYTON, fam.GUMBEL,
                                   fam.FRANK, fam.JOE))
    par2 = np.where(one_parameter, 0.0, par2)
    par = np.where(base == fam.INDEPENDENCE, 0.0, par)
    # BB8's upper tail exists at δ = 1 only: a δ within the optimiser's tolerance of 1 is 1
    bb8 = (base == fam.BB8) & (np.abs(np.abs(par2) - 1.0) < 1e-7)
    par2 = np.where(bb8, np.sign(par2), par2)
    return (base + offset).astype(np.int16), par, par2


@dataclass(frozen=True)
class BatchedFitter(FitterSettings):
    """The reference's selection (``PyvinecopulibFitter``, same settings and checks) for a whole
    block in compiled loops. Picklable; holds plain settings only."""

    def fit_block(self, precipitation: np.ndarray, soil_moisture: np.ndarray) -> CopulaBlockResult:
        """Per-cell copula of ``(cells, time)`` precipitation and soil moisture."""
        p, sm, status, pairs, code, par, par2 = start_block(self, precipitation, soil_moisture)
        todo = np.flatnonzero(status == STATUS_FITTED)
        if todo.size:
            sub_status = status[todo].copy()
            u1, u2, counts = _packed(p[todo], sm[todo], self.margins, sub_status)
            status[todo] = sub_status
            taus = np.asarray(kendall_tau_b(np.where(np.arange(u1.shape[1]) < counts[:, None],
                                                     u1, np.nan), u2).tau_b, dtype=float)
            taus = np.nan_to_num(taus)
            penalties = (np.full(todo.size, 2.0) if self.criterion == "aic"
                         else np.log(np.maximum(counts, 1)).astype(float))
            allowed = allowed_slots(fam.family_set(self.family_set))
            ok = sub_status == STATUS_FITTED
            chunk = todo.size if self.margins == "empirical" else PARAMETRIC_CHUNK
            for start in range(0, todo.size, chunk):
                part = np.arange(start, min(start + chunk, todo.size))
                part = part[ok[part]]
                if part.size == 0:
                    continue
                slot, rotation, out = _select(u1[part], u2[part], counts[part], taus[part],
                                              penalties[part], allowed,
                                              self.margins == "empirical")
                c, a, b = to_vinecopula(slot, rotation, out[:, 0], out[:, 1])
                code[todo[part]], par[todo[part]], par2[todo[part]] = c, a, b
                bad = ~np.isfinite(out[:, 2])
                status[todo[part[bad]]] = STATUS_FIT_FAILED
        return finish_block(code, par, par2, status, pairs)


def fit_family(code: int, u1, u2, tau: float | None = None) -> tuple[float, float, float]:
    """ML fit of one VineCopula code to uniforms (u1, u2): VineCopula (par, par2, log-likelihood).

    The same compiled fits as ``BatchedFitter`` (for checks against the reference family by
    family). ``tau``: empirical τ for the starting values (default: τ-b of the data).
    """
    u1 = np.clip(np.asarray(u1, dtype=float), TRIM, 1 - TRIM)
    u2 = np.clip(np.asarray(u2, dtype=float), TRIM, 1 - TRIM)
    n = u1.size
    if tau is None:
        tau = float(np.nan_to_num(kendall_tau_b(u1[None], u2[None]).tau_b[0]))
    base, rotation = (int(v[0]) for v in fam.split_codes([code]))
    slot = TAWN1_SLOT if base == fam.TAWN_TYPE1 else TAWN2_SLOT if base == fam.TAWN_TYPE2 else base
    (quantiles, margin), index = _t_pack(u1[None], u2[None], np.array([n]), False,
                                         base == fam.STUDENT)
    t_pack = (quantiles, margin, t_constants(T_GRID)[None, :], T_GRID[None, :])
    theta, delta, ll, nu_hat = fit_candidate(slot, rotation // 90, cell_rows(u1, u2, n),
                                             special.ndtri(u1), special.ndtri(u2), index[0, 0],
                                             index[1, 0], n, float(tau), start_tables(), t_pack,
                                             -np.inf)
    if base == fam.STUDENT and nu_hat != delta:
        rho, polished = polish_student(u1, u2, nu_hat, theta)
        if polished > ll:
            theta, delta, ll = rho, nu_hat, polished
    c, par, par2 = to_vinecopula(np.array([slot]), np.array([rotation]), np.array([theta]),
                                 np.array([delta]))
    return float(par[0]), float(par2[0]), float(ll)
