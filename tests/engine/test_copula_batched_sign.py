"""Where the fitters disagree on the sign of τ, and why (issue 10).

Near independence the restricted Tawn likelihood has narrow local maxima (a few pairs in one
corner, large θ, small δ). For |τ| < ``selection.TAWN_WEAK_TAU`` the batched fitter searches for
them from eight starts and finds some that the reference (SLSQP from VineCopula's single start)
does not, and the other way round: in a few per cent of weakly dependent cells one fitter chooses
independence (τ = 0) and the other a weak Tawn of the sample τ's sign. The AICs are then within
the issue's tolerance of each other (the choice is a near tie, not an error), but the count of
cells with τ < 0 moves with the fitter by a few cells per hundred weak ones.

Planted here: weakly dependent cells (Gaussian, |ρ| ≤ 0.2, a third with dry months). Checked:
every sign difference is independence against a weak restricted Tawn, the batched choice's AIC
(by pyvinecopulib's log-likelihood, not the engine's densities) is never more than 0.5 above the
reference's, and no fitted τ has the sign opposite to the sample τ.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_copula_batched import aic, uniforms
from test_copula_fit import block_of, gaussian

from soilp_qgis.copula import families as fam
from soilp_qgis.copula.fit import make_fitter

pytest.importorskip("pyvinecopulib")

CELLS = 150


def weak_block(seed=3, cells=CELLS, steps=240):
    rng = np.random.default_rng(seed)
    p, sm = block_of([gaussian(rng, rng.uniform(-0.2, 0.2), steps) for _ in range(cells)])
    dry = np.arange(cells) % 3 == 0
    p[dry] = np.where(p[dry] < 0.25, 0.0, p[dry])  # dry months: ties at zero
    return p, sm


def test_sign_differences_are_near_ties_of_independence_and_a_weak_tawn():
    p, sm = weak_block()
    batched = make_fitter("batched").fit_block(p, sm)
    reference = make_fitter("reference").fit_block(p, sm)
    assert (batched.status == 0).all() and (reference.status == 0).all()
    sign_b, sign_r = np.sign(batched.kendall_tau), np.sign(reference.kendall_tau)
    flipped = np.flatnonzero(sign_b != sign_r)
    assert flipped.size <= 0.06 * CELLS
    tawn = (fam.TAWN_TYPE1, fam.TAWN_TYPE2)
    for cell in flipped:
        pair = sorted([int(batched.family[cell]), int(reference.family[cell])])
        assert pair[0] == 0 and fam.split_codes([pair[1]])[0][0] in tawn, (cell, pair)
        assert max(abs(batched.kendall_tau[cell]), abs(reference.kendall_tau[cell])) < 0.05
        u = uniforms(p, sm, cell)
        mine = aic(batched.family[cell], batched.par[cell], batched.par2[cell], u)
        theirs = aic(reference.family[cell], reference.par[cell], reference.par2[cell], u)
        assert mine <= theirs + 0.5, (cell, pair, mine, theirs)
    # both keep the sign of the sample τ (rotations pre-selected by it)
    empirical = np.sign([stats.kendalltau(a, b).statistic for a, b in zip(p, sm)])
    for sign in (sign_b, sign_r):
        assert np.all((sign == 0) | (sign == empirical))
