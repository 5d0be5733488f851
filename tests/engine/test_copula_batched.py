"""``BatchedFitter`` held to the reference ``PyvinecopulibFitter`` (issue 10).

On planted copulas (simulated without pyvinecopulib, ``test_copula_fit``'s simulators) and on
real ERA5-Land cells: the same family, or an AIC within 0.5 of the reference's best, in ≥ 97 %
of cells (AICs evaluated independently with pyvinecopulib's log-likelihood at each fitter's
parameters); |Δτ| ≤ 0.005 and |Δλ| ≤ 0.01 where the families agree; family by family, the
batched maximum log-likelihood never more than 0.05 below the reference's; every status code
as the reference; outputs independent of the block split and of repetition.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_copula_fit import block_of, clayton, flip, gaussian, gumbel, student, tawn

from soilp_qgis.copula import families as fam
from soilp_qgis.copula.batched import BatchedFitter, fit_family
from soilp_qgis.copula.fit import CopulaBlockFitter, PyvinecopulibFitter, fit_tawn, make_fitter
from soilp_qgis.copula.margins import calendar_months, deseasonalize, pseudo_observations
from soilp_qgis.errors import InputError

pv = pytest.importorskip("pyvinecopulib")

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
ERA5 = REAL / "era5land_belarus_ukraine"
STEPS = 240


def planted_block(seed=10, cells=60, steps=STEPS):
    """Monthly-length cells of many planted copulas and rotations; a third with dry months
    (ties) in the first variable."""
    rng = np.random.default_rng(seed)
    makers = [lambda: gaussian(rng, rng.uniform(-0.7, 0.8), steps),
              lambda: student(rng, rng.uniform(-0.5, 0.7), rng.uniform(3, 10), steps),
              lambda: clayton(rng, rng.uniform(0.3, 4.0), steps),
              lambda: gumbel(rng, rng.uniform(1.1, 3.0), steps),
              lambda: flip(clayton(rng, rng.uniform(0.5, 3.0), steps), first=True),
              lambda: flip(gumbel(rng, rng.uniform(1.2, 2.5), steps), second=True),
              lambda: tawn(rng, rng.uniform(2, 8), rng.uniform(0.2, 0.8), 1.0, steps),
              lambda: rng.uniform(size=(steps, 2))]
    pairs = [makers[i % len(makers)]() for i in range(cells)]
    p, sm = block_of(pairs)
    dry = np.arange(cells) % 3 == 0
    p[dry] = np.where(p[dry] < 0.25, 0.0, p[dry])  # dry months: ties at zero
    return p, sm


def real_block(cells=48):
    """ERA5-Land soil moisture and 2 m temperature anomalies of cells spread over the grid."""
    from soilp_qgis.timestack import read_stack, read_stack_info

    sm_info = read_stack_info(ERA5 / "era5-land_monthly_mean_swvl1_2001-2020.nc")
    t2m = read_stack(ERA5 / "era5-land_monthly_mean_t2m_2001-2020.nc")
    sm = read_stack(sm_info)
    months = calendar_months(sm_info.dates)
    flat_t = deseasonalize(t2m.reshape(t2m.shape[0], -1).T, months)
    flat_sm = deseasonalize(sm.reshape(sm.shape[0], -1).T, months)
    keep = np.flatnonzero(np.isfinite(flat_sm).all(axis=1))
    chosen = keep[np.linspace(0, keep.size - 1, cells).astype(int)]
    return flat_t[chosen], flat_sm[chosen]


def uniforms(p, sm, cell):
    valid = np.isfinite(p[cell]) & np.isfinite(sm[cell])
    return np.column_stack([pseudo_observations(p[cell, valid]),
                            pseudo_observations(sm[cell, valid])])


def aic(code, par, par2, u):
    """−2ℓ + 2k by pyvinecopulib at the given VineCopula parameters."""
    loglik = float(fam.to_bicop(int(code), par, par2).loglik(u))
    return -2 * loglik + 2 * fam.family_table()[int(code)].parameters


def compare(batched, reference, p, sm):
    """Share of cells where the batched choice is the reference's or has an AIC at most 0.5
    above it; τ and λ checks where the families agree; the cells of the same family where the
    batched fit found a different, higher maximum (more than 0.01 in log-likelihood)."""
    assert batched.status.tolist() == reference.status.tolist()
    assert batched.valid_pairs.tolist() == reference.valid_pairs.tolist()
    fitted = np.flatnonzero(reference.status == 0)
    agree, better = [], []
    for cell in fitted:
        u = uniforms(p, sm, cell)
        mine = aic(batched.family[cell], batched.par[cell], batched.par2[cell], u)
        theirs = aic(reference.family[cell], reference.par[cell], reference.par2[cell], u)
        agree.append(batched.family[cell] == reference.family[cell] or mine <= theirs + 0.5)
        if batched.family[cell] == reference.family[cell] and mine < theirs - 0.02:
            better.append(cell)
    same = fitted[batched.family[fitted] == reference.family[fitted]]
    same = np.setdiff1d(same, better)
    np.testing.assert_allclose(batched.kendall_tau[same], reference.kendall_tau[same], atol=0.005)
    for name in ("lower_tail_dependence", "upper_tail_dependence", "discordant_tail_dependence"):
        np.testing.assert_allclose(getattr(batched, name)[same], getattr(reference, name)[same],
                                   atol=0.01, err_msg=name)
    return float(np.mean(agree)), same, np.array(better, dtype=int)


@pytest.fixture(scope="module")
def planted_fits():
    p, sm = planted_block()
    return p, sm, BatchedFitter().fit_block(p, sm), PyvinecopulibFitter().fit_block(p, sm)


def test_planted_cells_agree_with_the_reference(planted_fits):
    p, sm, batched, reference = planted_fits
    assert (reference.status == 0).all()
    share, same, better = compare(batched, reference, p, sm)
    assert share >= 0.97
    assert same.size >= 0.85 * p.shape[0]
    # a different maximum of the same family only for the multimodal Tawn likelihoods
    assert better.size <= 2 and (batched.family[better] > 100).all()


def test_planted_truth_is_recovered(planted_fits):
    p, sm, batched, _ = planted_fits
    # empirical τ-b of each cell's data: the selected family's τ is close to it
    empirical = np.array([stats.kendalltau(p[c], sm[c]).statistic for c in range(p.shape[0])])
    error = np.abs(batched.kendall_tau - empirical)
    assert np.median(error) < 0.02 and np.mean(error < 0.06) >= 0.95
    # Clayton cells (lower tail) and Gumbel cells (upper tail) get their tail
    clay = np.arange(2, p.shape[0], 8)
    assert np.mean(batched.lower_tail_dependence[clay] > 0.1) >= 0.7


@pytest.mark.skipif(not ERA5.is_dir(), reason=f"real data folder {ERA5} is absent")
def test_real_era5_cells_agree_with_the_reference():
    p, sm = real_block()
    batched = BatchedFitter().fit_block(p, sm)
    reference = PyvinecopulibFitter().fit_block(p, sm)
    share, same, better = compare(batched, reference, p, sm)
    assert share >= 0.97
    assert (reference.status == 0).mean() > 0.9
    assert same.size >= 0.7 * p.shape[0]
    assert (batched.family[better] > 100).all()


def test_family_by_family_loglik_at_least_the_reference():
    p, sm = planted_block(seed=4, cells=8)
    for cell in range(p.shape[0]):
        u = uniforms(p, sm, cell)
        tau = float(stats.kendalltau(u[:, 0], u[:, 1]).statistic)
        rotations = (0, 180) if tau > 0 else (90, 270)
        for code in fam.ALL_CODES:
            base, rotation = fam.family_table()[code].base_code, fam.family_table()[code].rotation
            if code == 0 or (base not in fam.UNROTATED and rotation not in rotations):
                continue
            par, par2, loglik = fit_family(code, u[:, 0], u[:, 1])
            # the batched log-likelihood is pyvinecopulib's at the batched parameters
            assert loglik == pytest.approx(float(fam.to_bicop(code, par, par2).loglik(u)),
                                           abs=1e-4), code
            if base > 100:
                reference = fit_tawn(u, code, tau)[2]
            else:
                name, rot, _ = fam.to_pyvinecopulib(code, 1.0, 1.0)
                bicop = pv.Bicop(getattr(pv.BicopFamily, name), rot)
                bicop.fit(u, controls=pv.FitControlsBicop(parametric_method="mle",
                                                         num_threads=1))
                reference = float(bicop.loglik(u))
            assert loglik >= reference - 0.05, (cell, code, loglik, reference)


def test_every_status_code_as_the_reference():
    rng = np.random.default_rng(12)
    t = 60
    good = gaussian(rng, 0.6, t)
    p = np.tile(good[:, 0], (9, 1))
    sm = np.tile(good[:, 1], (9, 1))
    p[1] = np.nan  # 1: no data
    sm[2, : t // 2] = np.nan
    p[2, t // 2:] = np.nan  # 1: the valid steps never overlap
    p[3, 10:] = np.nan  # 2: too few pairs
    sm[4] = 0.31  # 3: constant
    p[5] = np.where(good[:, 0] < 0.7, 0.0, np.floor(good[:, 0] * 10))  # 4: four distinct values
    p[6] = np.where(good[:, 0] < 0.6, 0.0, np.floor(good[:, 0] * 10))  # five: fitted
    p[7] = np.where(good[:, 0] < 0.5, -np.round(good[:, 0] * 10) - 1, 8.0)  # 5 (parametric)
    p[8, 12:] = np.nan  # 12 pairs: fitted when at least 12 are enough (fewer than 15)
    for margins in ("parametric", "empirical"):
        for minimum in (15, 12):
            batched = BatchedFitter(margins=margins, min_observations=minimum).fit_block(p, sm)
            reference = PyvinecopulibFitter(margins=margins,
                                            min_observations=minimum).fit_block(p, sm)
            for name, values in reference.as_dict().items():
                if name in ("status", "valid_pairs"):
                    np.testing.assert_array_equal(getattr(batched, name), values, err_msg=name)
                else:
                    assert np.array_equal(np.isnan(getattr(batched, name).astype(float)),
                                          np.isnan(values.astype(float))), name
    assert batched.status.dtype == np.uint8 and batched.family.dtype == np.int16
    parametric = BatchedFitter(margins="parametric").fit_block(p, sm)
    assert parametric.status.tolist() == [0, 1, 1, 2, 3, 4, 0, 5, 2]


def test_parametric_margins_and_bic_agree_with_the_reference():
    p, sm = planted_block(seed=5, cells=16)
    p = stats.gamma.ppf(p, 2.0, scale=30.0)
    sm = stats.lognorm.ppf(sm, 0.3, scale=0.25)
    for settings in ({"margins": "parametric"}, {"criterion": "bic"}):
        batched = BatchedFitter(**settings).fit_block(p, sm)
        reference = PyvinecopulibFitter(**settings).fit_block(p, sm)
        assert batched.status.tolist() == reference.status.tolist()
        same = batched.family == reference.family
        assert same.mean() >= 0.85, settings
        np.testing.assert_allclose(batched.kendall_tau[same], reference.kendall_tau[same],
                                   atol=0.005)


def test_block_split_and_repetition_give_identical_outputs(planted_fits):
    p, sm, batched, _ = planted_fits
    fitter = BatchedFitter()
    halves = [fitter.fit_block(p[:23], sm[:23]), fitter.fit_block(p[23:], sm[23:])]
    again = fitter.fit_block(p, sm)
    for name, values in batched.as_dict().items():
        joined = np.concatenate([getattr(h, name) for h in halves])
        np.testing.assert_array_equal(joined, values, err_msg=name)
        np.testing.assert_array_equal(getattr(again, name), values, err_msg=name)


def test_family_sets_restrict_the_choice(planted_fits):
    p, sm, _, _ = planted_fits
    for name in ("one_parameter", "gaussian_t"):
        result = BatchedFitter(family_set=name).fit_block(p[:16], sm[:16])
        reference = PyvinecopulibFitter(family_set=name).fit_block(p[:16], sm[:16])
        assert set(result.family.tolist()) <= set(fam.FAMILY_SETS[name])
        assert (result.family == reference.family).mean() >= 0.9


def test_make_fitter_and_pickling():
    fitter = make_fitter("batched", family_set="one_parameter", criterion="bic")
    assert isinstance(fitter, BatchedFitter) and isinstance(fitter, CopulaBlockFitter)
    assert pickle.loads(pickle.dumps(fitter)) == fitter
    assert isinstance(make_fitter("Reference"), PyvinecopulibFitter)
    assert isinstance(make_fitter(), BatchedFitter)
    with pytest.raises(InputError, match="FITTER"):
        make_fitter("fast")
    with pytest.raises(InputError, match="CRITERION"):
        make_fitter("batched", criterion="loglik")
    with pytest.raises(ValueError):
        BatchedFitter().fit_block(np.zeros((2, 30)), np.zeros((3, 30)))
