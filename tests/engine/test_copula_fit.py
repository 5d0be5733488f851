"""The per-block copula fitter on planted copulas simulated without pyvinecopulib.

Simulators: Gaussian (numpy multivariate normal), Student t (normal / √(χ²/ν)), Clayton
(Marshall–Olkin gamma frailty), Gumbel (positive-stable frailty, Kanter's representation),
Tawn (Gumbel mixed with independent uniforms: C(u,v) = u^(1−ψ1) v^(1−ψ2) C_G(u^ψ1, v^ψ2)),
rotations by flipping u → 1 − u.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import stats

from soilp_qgis.copula import families as fam
from soilp_qgis.copula.dependence import discordant_tail_dependence
from soilp_qgis.copula.fit import (CopulaBlockFitter, PyvinecopulibFitter, select_copula,
                                   tawn_candidates)
from soilp_qgis.errors import InputError

N = 500  # steps per planted cell: sd of Kendall's τ estimate ≲ 0.025


def gaussian(rng, rho, n=N):
    return stats.norm.cdf(rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n))


def student(rng, rho, nu, n=N):
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    return stats.t.cdf(z / np.sqrt(rng.chisquare(nu, size=n) / nu)[:, None], nu)


def clayton(rng, theta, n=N):
    frailty = rng.gamma(1 / theta, size=n)
    return (1 + rng.exponential(size=(n, 2)) / frailty[:, None]) ** (-1 / theta)


def gumbel(rng, theta, n=N):
    alpha = 1 / theta
    angle, w = rng.uniform(0, np.pi, n), rng.exponential(size=n)
    stable = (np.sin(alpha * angle) / np.sin(angle) ** (1 / alpha)
              * (np.sin((1 - alpha) * angle) / w) ** ((1 - alpha) / alpha))
    return np.exp(-(rng.exponential(size=(n, 2)) / stable[:, None]) ** alpha)


def tawn(rng, theta, psi1, psi2, n=N):
    g, w = gumbel(rng, theta, n), rng.uniform(size=(n, 2))
    columns = []
    for j, psi in enumerate((psi1, psi2)):
        free = w[:, j] ** (1 / (1 - psi)) if psi < 1 else np.zeros(n)
        columns.append(np.maximum(free, g[:, j] ** (1 / psi)))
    return np.column_stack(columns)


def flip(u, first=False, second=False):
    u = u.copy()
    if first:
        u[:, 0] = 1 - u[:, 0]
    if second:
        u[:, 1] = 1 - u[:, 1]
    return u


def block_of(pairs):
    return (np.array([p[:, 0] for p in pairs]), np.array([p[:, 1] for p in pairs]))


# τ of the planted copulas (closed forms of the spec)
TAU_GAUSS = lambda rho: 2 / np.pi * np.arcsin(rho)  # noqa: E731
TAU_CLAYTON = lambda th: th / (th + 2)  # noqa: E731
TAU_GUMBEL = lambda th: 1 - 1 / th  # noqa: E731


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(2024)
    cells = [
        ("gaussian", gaussian(rng, 0.7), TAU_GAUSS(0.7)),
        ("gaussian negative", gaussian(rng, -0.5), TAU_GAUSS(-0.5)),
        ("clayton", clayton(rng, 3.0), TAU_CLAYTON(3.0)),
        ("gumbel", gumbel(rng, 2.5), TAU_GUMBEL(2.5)),
        ("clayton, u1 flipped", flip(clayton(rng, 3.0), first=True), -TAU_CLAYTON(3.0)),
        ("gumbel, u1 flipped", flip(gumbel(rng, 2.5), first=True), -TAU_GUMBEL(2.5)),
        ("clayton, both flipped", flip(clayton(rng, 3.0), True, True), TAU_CLAYTON(3.0)),
        ("gumbel, u2 flipped", flip(gumbel(rng, 2.5), second=True), -TAU_GUMBEL(2.5)),
        ("independence", rng.uniform(size=(N, 2)), 0.0),
        ("student", student(rng, 0.6, 3.0), TAU_GAUSS(0.6)),
    ]
    p, sm = block_of([c[1] for c in cells])
    return cells, p, sm


@pytest.fixture(scope="module")
def fitted_all(planted):
    _, p, sm = planted
    return PyvinecopulibFitter().fit_block(p, sm)


@pytest.fixture(scope="module")
def fitted_one_parameter(planted):
    _, p, sm = planted
    return PyvinecopulibFitter(family_set="one_parameter").fit_block(p, sm)


def test_planted_tau_and_sign_recovered(planted, fitted_all):
    cells, _, _ = planted
    result = fitted_all
    assert (result.status == 0).all()
    for i, (name, _, tau) in enumerate(cells):
        assert result.kendall_tau[i] == pytest.approx(tau, abs=0.08), name
        if tau != 0:
            assert np.sign(result.kendall_tau[i]) == np.sign(tau), name
        negative = result.kendall_tau[i] < 0
        rotation = fam.family_table()[int(result.family[i])].rotation
        base = fam.family_table()[int(result.family[i])].base_code
        # negative dependence comes from a 90°/270° rotation or a family that covers both signs
        assert (rotation in (90, 270)) == (negative and base not in fam.UNROTATED), name


# tail corners of the planted copulas: lower-left, upper-right, u1 high & u2 low, u1 low & u2 high
PLANTED_CORNER = {"clayton": "lower", "gumbel": "upper", "clayton, u1 flipped": "high_low",
                  "gumbel, u1 flipped": "low_high", "clayton, both flipped": "upper",
                  "gumbel, u2 flipped": "high_low"}
PLANTED_LAMBDA = {"clayton": 2 ** (-1 / 3.0), "gumbel": 2 - 2 ** (1 / 2.5)}


def corners(result, i):
    high_low, low_high = discordant_tail_dependence(result.family[i], result.par[i],
                                                    result.par2[i])
    return {"lower": result.lower_tail_dependence[i], "upper": result.upper_tail_dependence[i],
            "high_low": float(high_low), "low_high": float(low_high)}


def test_tail_dependence_in_the_planted_corner(planted, fitted_one_parameter, fitted_all):
    cells, _, _ = planted
    for i, (name, _, _) in enumerate(cells):
        if name not in PLANTED_CORNER:
            continue
        planted_corner = PLANTED_CORNER[name]
        truth = PLANTED_LAMBDA[name.split(",")[0]]
        # one-parameter families: the tail sits where the chosen rotation puts it
        got = corners(fitted_one_parameter, i)
        assert got[planted_corner] == pytest.approx(truth, abs=0.15), name
        for corner, value in got.items():
            if corner != planted_corner:
                assert value == pytest.approx(0.0, abs=1e-12), (name, corner)
        # all 40 families: never a tail in a corner the planted copula has none in
        got = corners(fitted_all, i)
        for corner, value in got.items():
            if corner != planted_corner:
                assert value < 0.05, (name, corner)
    # VineCopula's convention: λL = λU = 0 for the 90°/270° rotations
    rotated = np.isin(fitted_all.family, [c for c in fam.ALL_CODES
                                          if fam.family_table()[c].rotation in (90, 270)])
    assert rotated.sum() >= 3
    assert (fitted_all.lower_tail_dependence[rotated] == 0).all()
    assert (fitted_all.upper_tail_dependence[rotated] == 0).all()
    assert (fitted_all.discordant_tail_dependence[rotated] > 0.4).all()


def test_student_cell_has_tails_in_all_corners(planted, fitted_all):
    cells, _, _ = planted
    i = [c[0] for c in cells].index("student")
    assert fitted_all.family[i] == 2
    rho, nu = fitted_all.par[i], fitted_all.par2[i]
    assert rho == pytest.approx(0.6, abs=0.08) and 2 < nu < 8
    assert fitted_all.lower_tail_dependence[i] == fitted_all.upper_tail_dependence[i] > 0.15
    assert 0 < fitted_all.discordant_tail_dependence[i] < fitted_all.lower_tail_dependence[i]


def test_planted_tawn_types_are_recovered_with_vinecopula_codes():
    rng = np.random.default_rng(99)
    # type 1: ψ1 = δ, ψ2 = 1; type 2: ψ1 = 1, ψ2 = δ. Type 1 with u1 flipped is VineCopula's
    # 224: its BiCopCDF defines 224 as u2 − TawnC(1−u1, u2) with par2 = δ, par3 = 1, and 124
    # with the ψ the other way round
    theta, delta = 8.0, 0.3
    pairs = [tawn(rng, theta, delta, 1.0), tawn(rng, theta, 1.0, delta),
             flip(tawn(rng, theta, delta, 1.0), first=True)]
    result = PyvinecopulibFitter().fit_block(*block_of(pairs))
    upper = 1 + delta - (1 + delta ** theta) ** (1 / theta)
    assert result.family.tolist() == [104, 204, 224]
    assert result.par[:2] == pytest.approx([theta, theta], rel=0.35)
    assert result.par[2] == pytest.approx(-theta, rel=0.35)  # VineCopula: θ negated, δ not
    assert result.par2 == pytest.approx([delta] * 3, abs=0.08)
    assert result.upper_tail_dependence[:2] == pytest.approx([upper, upper], abs=0.08)
    assert result.upper_tail_dependence[2] == 0 and result.lower_tail_dependence[2] == 0
    high_low, low_high = discordant_tail_dependence(224, result.par[2], result.par2[2])
    assert float(low_high) == pytest.approx(upper, abs=0.08) and float(high_low) == 0


def test_tawn_candidates_follow_the_tail_corner_like_vinecopula_presel():
    # VineCopula fits only the Tawn rotations whose tail lies in the corner where the normal
    # scores are more correlated (fams11, fams00, fams10, fams01 of its BiCopSelect)
    rng = np.random.default_rng(31)
    cases = [(gumbel(rng, 2.0), (104, 204)),  # upper-right
             (clayton(rng, 2.0), (114, 214)),  # lower-left
             (flip(clayton(rng, 2.0), first=True), (134, 234)),  # u1 high & u2 low
             (flip(clayton(rng, 2.0), second=True), (124, 224))]  # u1 low & u2 high
    for u, expected in cases:
        u = stats.rankdata(u, axis=0) / (u.shape[0] + 1)
        tau = stats.kendalltau(u[:, 0], u[:, 1]).statistic
        assert tawn_candidates(u, tau) == expected
    # the tail corner of each candidate is the planted one
    for code, corner in [(134, 0), (124, 1)]:
        tails = discordant_tail_dependence(code, -3.0, 0.5)
        assert float(tails[corner]) > 0 and float(tails[1 - corner]) == 0
    assert len(tawn_candidates(rng.uniform(size=(50, 2)), 0.0)) == 8


def test_bic_never_chooses_more_parameters_than_aic():
    # with the same ML fits, −2ℓ + log(n)·k ≥ −2ℓ + 2k penalises k more for n ≥ 8, so the BIC
    # choice has at most the AIC choice's parameter count; and both criteria see the same fits
    rng = np.random.default_rng(17)
    pairs = [gaussian(rng, 0.2, 60), student(rng, 0.4, 4.0, 60), clayton(rng, 0.5, 60),
             rng.uniform(size=(60, 2)), rng.uniform(size=(60, 2)), flip(gumbel(rng, 1.3, 60), True),
             tawn(rng, 4.0, 0.4, 1.0, 60), gaussian(rng, -0.3, 60)]
    p, sm = block_of(pairs)
    aic = PyvinecopulibFitter(criterion="aic").fit_block(p, sm)
    bic = PyvinecopulibFitter(criterion="bic").fit_block(p, sm)
    count = {c: f.parameters for c, f in fam.family_table().items()}
    k_aic = np.array([count[int(c)] for c in aic.family])
    k_bic = np.array([count[int(c)] for c in bic.family])
    assert (k_bic <= k_aic).all()
    assert k_bic.sum() < k_aic.sum()
    # where both chose the same family they found the same parameters
    same = aic.family == bic.family
    np.testing.assert_allclose(aic.par[same], bic.par[same], rtol=1e-8)


def test_select_copula_criterion_values():
    rng = np.random.default_rng(4)
    u = stats.rankdata(gaussian(rng, 0.5, 200), axis=0) / 201
    aic = select_copula(u[:, 0], u[:, 1], "gaussian_t", "aic")
    bic = select_copula(u[:, 0], u[:, 1], "gaussian_t", "bic")
    k = fam.family_table()[aic.family].parameters
    assert aic.criterion == pytest.approx(-2 * aic.loglik + 2 * k)
    k = fam.family_table()[bic.family].parameters
    assert bic.criterion == pytest.approx(-2 * bic.loglik + np.log(200) * k)
    # the Gaussian ML estimate of ρ on normal scores is close to their correlation
    assert aic.family in (1, 2)
    assert aic.par == pytest.approx(np.corrcoef(stats.norm.ppf(u).T)[0, 1], abs=0.02)


def test_family_sets_restrict_the_choice(planted):
    cells, p, sm = planted
    keep = [0, 1, 4, 9]
    result = PyvinecopulibFitter(family_set="gaussian_t").fit_block(p[keep], sm[keep])
    assert set(result.family.tolist()) <= {0, 1, 2}
    assert result.kendall_tau[1] < 0 and result.kendall_tau[2] < 0
    assert result.discordant_tail_dependence[2] >= 0
    one = PyvinecopulibFitter(family_set="one_parameter").fit_block(p[keep], sm[keep])
    assert set(one.family.tolist()) <= set(fam.FAMILY_SETS["one_parameter"])


def test_each_status_code_from_a_purpose_built_cell():
    rng = np.random.default_rng(12)
    t = 60
    good = gaussian(rng, 0.6, t)
    p = np.tile(good[:, 0], (8, 1))
    sm = np.tile(good[:, 1], (8, 1))
    p[1] = np.nan  # 1: no valid precipitation
    sm[2, : t // 2] = np.nan
    p[2, t // 2:] = np.nan  # 1: valid steps never overlap
    p[3, 10:] = np.nan  # 2: 10 valid pairs < 15
    sm[4] = 0.31  # 3: constant soil moisture
    p[5] = np.where(good[:, 0] < 0.7, 0.0, np.floor(good[:, 0] * 10))  # 4: 4 distinct values
    p[6] = np.where(good[:, 0] < 0.6, 0.0, np.floor(good[:, 0] * 10))  # 5 distinct: fitted
    # 5: parametric margins fail: the dry steps vary (negative amounts) and every wet step has
    # the same amount, so no wet distribution can be fitted
    p[7] = np.where(good[:, 0] < 0.5, -np.round(good[:, 0] * 10) - 1, 8.0)
    assert len(np.unique(p[5])) == 4 and len(np.unique(p[6])) == 5
    result = PyvinecopulibFitter(margins="parametric").fit_block(p, sm)
    assert result.status.tolist() == [0, 1, 1, 2, 3, 4, 0, 5]
    assert result.status.dtype == np.uint8 and result.family.dtype == np.int16
    assert result.valid_pairs.tolist() == [t, 0, 0, 10, t, t, t, t]
    bad = result.status != 0
    assert (result.family[bad] == -1).all()
    for name in ("par", "par2", "par3", "kendall_tau", "lower_tail_dependence",
                 "upper_tail_dependence", "discordant_tail_dependence"):
        values = getattr(result, name)
        assert np.isnan(values[bad]).all(), name
        assert np.isfinite(values[~bad]).all(), name
    # with empirical margins the same odd cell fits (ranks need no wet distribution)
    empirical = PyvinecopulibFitter().fit_block(p[7:], sm[7:])
    assert empirical.status.tolist() == [0]
    # a stricter minimum turns the 5-distinct-value cell into "too many ties"
    strict = PyvinecopulibFitter(min_distinct_values=6).fit_block(p[6:7], sm[6:7])
    assert strict.status.tolist() == [4]


def test_desert_cell_with_many_dry_months():
    # latent Gaussian dependence (ρ = 0.7), precipitation censored at zero in most months
    rng = np.random.default_rng(7)
    t = 240
    rows_p, rows_sm = [], []
    for dry_share in (0.5, 0.85, 0.95):
        z = rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], size=t)
        rows_p.append(np.maximum(z[:, 0] - stats.norm.ppf(dry_share), 0) * 40)
        rows_sm.append(0.1 + 0.05 * stats.norm.cdf(z[:, 1]))
    p, sm = np.array(rows_p), np.array(rows_sm)
    fitter = PyvinecopulibFitter()
    result = fitter.fit_block(p, sm)
    assert result.status.tolist() == [0, 0, 0]
    assert (result.kendall_tau > 0).all()
    # with half the months dry, the fitted τ is close to the data's τ-b
    tau_b = stats.kendalltau(p[0], sm[0]).statistic
    assert result.kendall_tau[0] == pytest.approx(tau_b, abs=0.05)
    # ties are averaged, not broken at random: the order of the months does not matter
    perm = rng.permutation(t)
    again = fitter.fit_block(p[:, perm], sm[:, perm])
    np.testing.assert_array_equal(again.family, result.family)
    np.testing.assert_allclose(again.par, result.par, rtol=1e-5)
    # parametric margins: the dry months sit at the mid-point of the point mass
    parametric = PyvinecopulibFitter(margins="parametric").fit_block(p, sm)
    assert parametric.status.tolist() == [0, 0, 0]
    assert (parametric.kendall_tau > 0).all()


def test_parametric_margins_recover_a_planted_copula():
    rng = np.random.default_rng(21)
    u = clayton(rng, 2.0, 400)
    p = stats.gamma.ppf(u[:, 0], 2.0, scale=30.0)
    sm = stats.lognorm.ppf(u[:, 1], 0.3, scale=0.25)
    result = PyvinecopulibFitter(margins="parametric").fit_block(p[None], sm[None])
    assert result.status.tolist() == [0]
    assert result.kendall_tau[0] == pytest.approx(TAU_CLAYTON(2.0), abs=0.08)
    assert result.lower_tail_dependence[0] > 0.5


def test_fitter_is_picklable_and_deterministic(planted):
    _, p, sm = planted
    fitter = PyvinecopulibFitter(family_set="one_parameter", criterion="bic", min_observations=20)
    clone = pickle.loads(pickle.dumps(fitter))
    assert clone == fitter and isinstance(clone, CopulaBlockFitter)
    first = fitter.fit_block(p[:3], sm[:3])
    second = clone.fit_block(p[:3], sm[:3])
    for name, values in first.as_dict().items():
        np.testing.assert_array_equal(values, second.as_dict()[name], err_msg=name)


def test_settings_are_checked():
    for kwargs, word in [({"family_set": "everything"}, "FAMILY_SET"),
                         ({"criterion": "loglik"}, "CRITERION"),
                         ({"margins": "kde"}, "MARGINS"),
                         ({"min_observations": 1}, "MIN_OBSERVATIONS")]:
        with pytest.raises(InputError, match=word):
            PyvinecopulibFitter(**kwargs)
    assert PyvinecopulibFitter(criterion="BIC").criterion == "bic"
    with pytest.raises(ValueError):
        PyvinecopulibFitter().fit_block(np.zeros((2, 30)), np.zeros((3, 30)))
