"""The sign of the selected copula's τ does not depend on the fitter (issue 10).

Near independence the restricted Tawn likelihood has narrow local maxima (a few pairs in one
corner, large θ, small δ). The batched fitter searches for them from eight starts and finds
some that the reference (SLSQP from VineCopula's single start) does not, and so chooses a weak
Tawn (of the sample τ's sign) over independence in about 5 % of weakly dependent cells: the
map's share of negative τ moves with the fitter. Planted here: weakly dependent cells
(Gaussian, |ρ| ≤ 0.2, a third with dry months), where the fitters must agree on the sign of τ
(−, 0, +) in all but a handful of genuinely tied cells, and on the number of cells with τ < 0
within two.

Open (strict xfail): starting the batched Tawn fits from VineCopula's start only makes this
pass (at most 3 of the 150 cells differ instead of 7) and the demo's shares agree, but then 2 of
the 48 real ERA5 cells of ``test_copula_batched`` lose a weak Tawn that the reference's SLSQP
reaches by its first, unit-Hessian step (46/48 < 97 %); see the report on issue 10.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_copula_fit import block_of, gaussian

from soilp_qgis.copula.fit import make_fitter

pytest.importorskip("pyvinecopulib")

CELLS = 150


def weak_block(seed=3, cells=CELLS, steps=240):
    rng = np.random.default_rng(seed)
    p, sm = block_of([gaussian(rng, rng.uniform(-0.2, 0.2), steps) for _ in range(cells)])
    dry = np.arange(cells) % 3 == 0
    p[dry] = np.where(p[dry] < 0.25, 0.0, p[dry])  # dry months: ties at zero
    return p, sm


@pytest.mark.xfail(strict=True, reason="weak Tawn spikes: batched multistart vs the reference's "
                   "single start (issue 10, open)")
def test_sign_of_tau_does_not_depend_on_the_fitter():
    p, sm = weak_block()
    batched = make_fitter("batched").fit_block(p, sm)
    reference = make_fitter("reference").fit_block(p, sm)
    assert (batched.status == 0).all() and (reference.status == 0).all()
    sign_b, sign_r = np.sign(batched.kendall_tau), np.sign(reference.kendall_tau)
    flipped = np.flatnonzero(sign_b != sign_r)
    assert flipped.size <= 0.02 * CELLS, list(zip(batched.family[flipped],
                                                  reference.family[flipped]))
    assert abs(int((sign_b < 0).sum()) - int((sign_r < 0).sum())) <= 2
    # both keep the sign of the sample τ (rotations pre-selected by it)
    empirical = np.sign([stats.kendalltau(a, b).statistic for a, b in zip(p, sm)])
    assert np.mean((sign_b == 0) | (sign_b == empirical)) >= 0.95
