"""Bayesian drivers per ecoregion: data assembly, model density, posterior recovery of planted
coefficients, residual correlation and random-intercept spread, quadrants, clusters, line, report.

Sampling runs are small (2 chains, a few hundred draws) and share one nutpie sampler so its
compiled models are reused: one compile per DATA mode.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.cluster import KMeans

from soilp_qgis.bayes import (RESPONSES, TERMS, DriverSampler, EcoregionFit, EcoregionSkipped,
                              SamplerSettings, assemble_ecoregion, build_driver_model,
                              cluster_points, coefficient_table, diagnostics_table, driver_figure,
                              driver_points, fit_ecoregions, least_squares_line, quadrant,
                              report_html)
from soilp_qgis.bayes.report import figure_png
from soilp_qgis.bayes.summary import TABLE_COLUMNS
from soilp_qgis.errors import InputError

KEYS = ("precipitation", "soil_moisture", "air_temperature", "gpp", "lst")
FAST = dict(chains=2, tune=400, draws=400, seed=11)


def pop_z(values: np.ndarray) -> np.ndarray:
    return stats.zscore(values, ddof=0)


def design(ta, gpp, lst):
    return np.column_stack([ta, gpp, lst, ta * gpp, ta * lst, gpp * lst, ta * gpp * lst])


def simulate_mean(rng, n, beta, intercept, sigma, rho):
    """One ecoregion of one cell (its mean is itself): predictors already z-scores, so the
    planted coefficients on the model's scale are beta / std(response)."""
    ta, gpp, lst = (pop_z(rng.normal(size=n)) for _ in range(3))
    cov = np.array([[sigma[0] ** 2, rho * sigma[0] * sigma[1]],
                    [rho * sigma[0] * sigma[1], sigma[1] ** 2]])
    y = intercept + design(ta, gpp, lst) @ beta + rng.multivariate_normal([0, 0], cov, size=n)
    blocks = dict(zip(KEYS, (y[:, 0], y[:, 1], ta, gpp, lst)))
    return {k: v[np.newaxis, :] for k, v in blocks.items()}, y


def planted_truth(beta, intercept, sigma, y):
    """Coefficients, intercepts and residual sds on the standardised responses' scale."""
    m, s = y.mean(axis=0), y.std(axis=0)
    return beta / s, (intercept - m) / s, np.asarray(sigma) / s


def rows_of(table, parameter):
    return table[table["parameter"] == parameter]


def covered(row, truth) -> bool:
    return bool(row["q2.5"] <= truth <= row["q97.5"])


@pytest.fixture(scope="module")
def sampler():
    return DriverSampler(SamplerSettings(**FAST))


# --------------------------------------------------------------------------- data assembly

def test_cells_rows_are_the_valid_rows_of_a_seeded_subsample_standardised():
    rng = np.random.default_rng(3)
    blocks = {k: rng.gamma(2.0, 3.0, size=(12, 50)) for k in KEYS}
    blocks["gpp"][2, 5:] = np.nan                 # cell 2 keeps 5 steps
    blocks["lst"][:, 7] = np.nan                  # step 7 missing everywhere
    blocks["precipitation"][7, :] = np.nan        # cell 7 has no data at all
    data = assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells", max_cells=8, seed=5)
    again = assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells", max_cells=8, seed=5)
    other = assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells", max_cells=8, seed=6)
    assert data.n_cells == 8 and 7 not in data.cells
    assert np.array_equal(data.cells, again.cells) and not np.array_equal(data.cells, other.cells)
    valid = np.all([np.isfinite(blocks[k]) for k in KEYS], axis=0)
    expected_rows = [(c, t) for c in data.cells for t in range(50) if valid[c, t]]
    got_rows = list(zip(data.cells[data.cell_index], data.time_index))
    assert got_rows == expected_rows
    raw = {k: np.array([blocks[k][c, t] for c, t in expected_rows]) for k in KEYS}
    assert np.allclose(data.responses[:, 0], pop_z(raw["precipitation"]))
    assert np.allclose(data.responses[:, 1], pop_z(raw["soil_moisture"]))
    ta, gpp, lst = pop_z(raw["air_temperature"]), pop_z(raw["gpp"]), pop_z(raw["lst"])
    assert np.allclose(data.terms, design(ta, gpp, lst))
    assert data.std["P"] == pytest.approx(raw["precipitation"].std())


def test_ecoregion_mean_averages_the_cells_with_all_five_variables_at_each_step():
    rng = np.random.default_rng(4)
    blocks = {k: rng.normal(10.0, 2.0, size=(6, 40)) for k in KEYS}
    blocks["soil_moisture"][0, :20] = np.nan      # cell 0 drops out of steps 0-19 for all five
    blocks["air_temperature"][:, 3] = np.nan      # step 3 has no complete cell
    data = assemble_ecoregion(*(blocks[k] for k in KEYS), data="ecoregion_mean")
    frame = pd.DataFrame({k: blocks[k].ravel() for k in KEYS})
    frame["time"] = np.tile(np.arange(40), 6)
    means = frame.dropna().groupby("time").mean()
    assert np.array_equal(data.time_index, means.index.to_numpy())
    assert data.cell_index is None
    assert np.allclose(data.responses, pop_z(means[["precipitation", "soil_moisture"]].to_numpy()))
    assert np.allclose(data.terms, design(*(pop_z(means[k].to_numpy()) for k in KEYS[2:])))


@pytest.mark.parametrize("case, reason", [
    ("empty", "no cell has all five"),
    ("one_cell", "only 1 cell"),
    ("short", "only 20 time steps"),
    ("constant", "GPP is constant"),
])
def test_unusable_ecoregions_are_skipped_with_their_reason(case, reason):
    rng = np.random.default_rng(5)
    blocks = {k: rng.normal(size=(3, 60)) for k in KEYS}
    data = "cells"
    if case == "empty":
        blocks["lst"][:] = np.nan
    elif case == "one_cell":
        blocks["precipitation"][1:] = np.nan
    elif case == "short":
        blocks["precipitation"][:, 20:] = np.nan
        data = "ecoregion_mean"
    else:
        blocks["gpp"][:] = 4.0
    with pytest.raises(EcoregionSkipped, match=reason):
        assemble_ecoregion(*(blocks[k] for k in KEYS), data=data, min_values=30)


def test_settings_out_of_range_name_the_parameter():
    for bad, name in ((dict(chains=0), "CHAINS"), (dict(target_accept=1.2), "TARGET_ACCEPT"),
                      (dict(max_treedepth=0), "MAX_TREEDEPTH"), (dict(sampler="stan"), "SAMPLER"),
                      (dict(random_intercepts="x"), "RANDOM_INTERCEPTS")):
        with pytest.raises(InputError, match=name):
            SamplerSettings(**bad).validate()


# ------------------------------------------------------------------------------- the model

def _evaluate(model, names, point):
    outputs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    return dict(zip(names, fn(point)))


@pytest.mark.parametrize("form", ["centred", "non_centred"])
def test_likelihood_and_cell_prior_are_the_bivariate_normal_densities(form):
    rng = np.random.default_rng(6)
    blocks = {k: rng.normal(size=(4, 30)) for k in KEYS}
    blocks["gpp"][1, 3:9] = np.nan                # unequal rows per cell
    data = assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells")
    model = build_driver_model(data, form)
    point = {k: v + rng.normal(scale=0.4, size=np.shape(v))
             for k, v in model.initial_point(random_seed=1).items()}
    names = ["likelihood", "intercept", "coefficient", "sigma", "residual_correlation", "cell_sd",
             "cell_correlation"]
    names += ["cell_intercept_P", "cell_intercept_SM"] if form == "centred" else ["cell_z"]
    v = _evaluate(model, names, point)

    def covariance(sd, r):
        return np.array([[sd[0] ** 2, r * sd[0] * sd[1]], [r * sd[0] * sd[1], sd[1] ** 2]])

    def mvn(values, mean, cov):
        return sum(stats.multivariate_normal(m, cov).logpdf(x) for x, m in zip(values, mean))

    cell_cov = covariance(v["cell_sd"], v["cell_correlation"])
    if form == "centred":
        own = np.column_stack([v["cell_intercept_P"], v["cell_intercept_SM"]])
        cell_rvs = [model["cell_intercept_P"], model["cell_intercept_SM"]]
        logp_cells = model.compile_logp(vars=cell_rvs, jacobian=False)(point)
        assert logp_cells == pytest.approx(mvn(own, np.tile(v["intercept"], (4, 1)), cell_cov),
                                           rel=1e-9)
        offsets = own - v["intercept"]
    else:
        offsets = v["cell_z"] @ np.linalg.cholesky(cell_cov).T
    mean = v["intercept"] + data.terms @ v["coefficient"] + offsets[data.cell_index]
    expected = mvn(data.responses, mean, covariance(v["sigma"], v["residual_correlation"]))
    assert float(v["likelihood"]) == pytest.approx(expected, rel=1e-9)


def test_marginalised_likelihood_is_each_cells_joint_normal_density():
    """RANDOM_INTERCEPTS=marginalised: the likelihood is, per cell, the density of all its rows
    together with the intercepts integrated out, N(vec r_c | 0, I ⊗ Σ + J ⊗ Ψ) (J all ones),
    evaluated here by scipy on the stacked 2n-vector of each cell; no cell intercepts sampled."""
    rng = np.random.default_rng(9)
    blocks = {k: rng.normal(size=(7, 30)) for k in KEYS}
    blocks["gpp"][1, 3:9] = np.nan                # unequal rows per cell: 24, 24, 27, 30 × 4
    blocks["lst"][4, 10:16] = np.nan
    blocks["precipitation"][5, :3] = np.nan
    data = assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells")
    model = build_driver_model(data, "marginalised")
    assert {"cell_intercept_P", "cell_z"}.isdisjoint(model.named_vars)
    point = {k: v + rng.normal(scale=0.4, size=np.shape(v))
             for k, v in model.initial_point(random_seed=3).items()}
    names = ["likelihood", "intercept", "coefficient", "sigma", "residual_correlation", "cell_sd",
             "cell_correlation"]
    v = _evaluate(model, names, point)

    def covariance(sd, r):
        return np.array([[sd[0] ** 2, r * sd[0] * sd[1]], [r * sd[0] * sd[1], sd[1] ** 2]])

    sigma = covariance(v["sigma"], v["residual_correlation"])
    psi = covariance(v["cell_sd"], v["cell_correlation"])
    residuals = data.responses - v["intercept"] - data.terms @ v["coefficient"]
    expected = 0.0
    for cell in range(data.n_cells):
        own = residuals[data.cell_index == cell]          # (n, 2)
        n = len(own)
        joint = np.kron(np.eye(n), sigma) + np.kron(np.ones((n, n)), psi)
        expected += stats.multivariate_normal(np.zeros(2 * n), joint).logpdf(own.ravel())
    assert len(np.unique(np.bincount(data.cell_index))) == 3
    assert float(v["likelihood"]) == pytest.approx(expected, rel=1e-9)


def test_scale_and_correlation_priors_are_half_student_t_and_lkj_one():
    """The residual and cell covariances' priors, against scipy: half-Student-t(3, 2.5) standard
    deviations and LKJ(1) on the 2 × 2 correlation, which is uniform on (−1, 1) (density 1/2)."""
    rng = np.random.default_rng(8)
    blocks = {k: rng.normal(size=(3, 30)) for k in KEYS}
    model = build_driver_model(assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells"))
    point = {k: v + rng.normal(scale=0.4, size=np.shape(v))
             for k, v in model.initial_point(random_seed=2).items()}
    names = ["sigma", "residual_correlation", "cell_sd", "cell_correlation"]
    v = _evaluate(model, names, point)
    logp = model.compile_logp(vars=[model[n] for n in names], jacobian=False)(point)
    half_t = stats.t(df=3, scale=2.5)
    expected = sum((np.log(2.0) + half_t.logpdf(v[sd])).sum() for sd in ("sigma", "cell_sd")) \
        + 2 * np.log(0.5)
    assert all(abs(v[r]) < 1 for r in ("residual_correlation", "cell_correlation"))
    assert logp == pytest.approx(expected, rel=1e-7)


# -------------------------------------------------------------------------------- recovery

@pytest.fixture(scope="module")
def mean_blocks():
    """Two simulated ecoregions (DATA=ecoregion_mean) and one too short to model, with the
    planted truths of the first two."""
    rng = np.random.default_rng(2024)
    blocks, truths = {}, {}
    for label, rho in ((1, 0.6), (2, -0.4)):
        beta = rng.normal(0.0, 0.6, size=(7, 2))
        intercept, sigma = np.array([3.0, -1.0]), (1.0, 0.7)
        blocks[label], y = simulate_mean(rng, 260, beta, intercept, sigma, rho)
        truths[label] = (*planted_truth(beta, intercept, sigma, y), rho)
    short, _ = simulate_mean(rng, 12, np.zeros((7, 2)), np.zeros(2), (1, 1), 0.0)
    blocks[3] = short
    return blocks, truths


@pytest.fixture(scope="module")
def mean_run(sampler, mean_blocks):
    blocks, truths = mean_blocks
    events, messages = [], []
    fits = _fit(blocks, sampler, "ecoregion_mean", events, messages)
    return fits, truths, events, messages


def _fit(blocks, sampler, data, events, messages, **kwargs):
    return fit_ecoregions(blocks, data=data, sampler=sampler, progress=events.append,
                          log=messages.append, **kwargs)


def test_posterior_intervals_cover_planted_coefficients_and_correlation(mean_run):
    fits, truths, _, _ = mean_run
    checks = []
    for fit in fits[:2]:
        beta, intercept, sigma, rho = truths[fit.ecoregion]
        table = fit.table
        for _, row in rows_of(table, "coefficient").iterrows():
            checks.append(covered(row, beta[TERMS.index(row["term"]),
                                            RESPONSES.index(row["response"])]))
        for _, row in rows_of(table, "intercept").iterrows():
            checks.append(covered(row, intercept[RESPONSES.index(row["response"])]))
        for _, row in rows_of(table, "sigma").iterrows():
            checks.append(covered(row, sigma[RESPONSES.index(row["response"])]))
        assert covered(rows_of(table, "residual_correlation").iloc[0], rho)
        assert fit.converged and fit.divergences == 0 and table["rhat"].max() < 1.05
    assert len(checks) == 2 * (14 + 2 + 2)
    # 36 nominal 95 % intervals: a correct posterior covers fewer than 29 of them with
    # probability < 0.001 (binomial), so 0.8 separates chance from a wrong model; how close the
    # posterior is to the exact answer is checked against least squares below.
    assert np.mean(checks) >= 0.8


def test_posterior_of_coefficients_matches_least_squares(mean_run):
    """With weak priors and 260 steps, each response's coefficient posterior is the least-squares
    estimate with its standard error (seemingly unrelated regressions with the same regressors
    reduce to equation-wise OLS): posterior means within 0.25 standard errors of the OLS
    estimates, posterior sds within 15 % of the OLS standard errors."""
    fits, _, _, _ = mean_run
    rng = np.random.default_rng(2024)
    for fit, label_rho in zip(fits[:2], (0.6, -0.4)):
        beta = rng.normal(0.0, 0.6, size=(7, 2))
        blocks, y = simulate_mean(rng, 260, beta, np.array([3.0, -1.0]), (1.0, 0.7), label_rho)
        ta, gpp, lst = (blocks[k][0] for k in KEYS[2:])
        x = np.column_stack([np.ones(260), design(ta, gpp, lst)])
        for column, response in enumerate(RESPONSES):
            z = pop_z(y[:, column])
            estimate, residuals, *_ = np.linalg.lstsq(x, z, rcond=None)
            sigma2 = float(residuals[0]) / (260 - x.shape[1])
            standard_error = np.sqrt(np.diag(sigma2 * np.linalg.inv(x.T @ x)))
            rows = rows_of(fit.table, "coefficient")
            rows = rows[rows["response"] == response].set_index("term").loc[list(TERMS)]
            assert np.all(np.abs(rows["mean"].to_numpy() - estimate[1:])
                          <= 0.25 * standard_error[1:])
            assert np.allclose(rows["sd"].to_numpy(), standard_error[1:], rtol=0.15)


def test_short_ecoregion_is_reported_as_skipped_not_dropped(mean_run):
    fits, _, _, messages = mean_run
    diagnostics = diagnostics_table(fits)
    assert list(diagnostics["ecoregion"]) == [1, 2, 3]
    assert list(diagnostics["status"]) == ["fitted", "fitted", "skipped"]
    assert "only 12 time steps" in diagnostics.loc[2, "reason"]
    assert any("ecoregion 3 skipped: only 12 time steps" in m for m in messages)
    table = coefficient_table(fits)
    assert set(table["ecoregion"]) == {1, 2}
    assert len(table) == 2 * (2 + 14 + 2 + 1)
    assert list(table.columns[:len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    assert (table["converged"]).all() and (table["divergences"] == 0).all()


def test_progress_reaches_every_chain_of_every_fitted_ecoregion(mean_run):
    _, _, events, _ = mean_run
    total = FAST["tune"] + FAST["draws"]
    for ecoregion in (1, 2):
        mine = [e for e in events if e.ecoregion == ecoregion]
        finished = {e.chain for e in mine if e.done == e.total == total}
        assert finished == {0, 1}
    last = max(e.fraction for e in events if e.ecoregion == 2)
    assert last == pytest.approx(2 / 3)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions)


def test_ecoregions_in_parallel_give_the_same_fits_and_one_progress(mean_run, mean_blocks,
                                                                    sampler):
    """Three ecoregions sampled at once in threads: the same tables as one after the other (each
    ecoregion's seeds depend on its label only), results in input order, and the progress over
    the whole run ends at 1."""
    fits, _, _, _ = mean_run
    events = []
    parallel = fit_ecoregions(mean_blocks[0], data="ecoregion_mean", sampler=sampler,
                              progress=events.append, parallel=3)
    assert [fit.ecoregion for fit in parallel] == [fit.ecoregion for fit in fits] == [1, 2, 3]
    for one, other in zip(fits, parallel):
        assert one.status == other.status
        pd.testing.assert_frame_equal(one.table, other.table)
    assert max(e.fraction for e in events) == pytest.approx(2 / 3)  # the third is skipped
    assert {(e.ecoregion, e.chain) for e in events if e.done == e.total} == \
        {(1, 0), (1, 1), (2, 0), (2, 1)}


def test_low_rank_and_diagonal_mass_matrices_sample_the_same_posterior(mean_run, mean_blocks,
                                                                      sampler):
    """MASS_MATRIX=low_rank (the default) against the diagonal metric (as Stan and brms): the
    same coefficient means within Monte Carlo error, progress from every chain."""
    fits, _, _, _ = mean_run
    assert sampler.settings.mass_matrix == "low_rank"
    diagonal_sampler = DriverSampler(SamplerSettings(**FAST, mass_matrix="diagonal"))
    diagonal_sampler._compiled = sampler._compiled   # the same compiled model: only the metric
    events = []
    other = fit_ecoregions({1: mean_blocks[0][1]}, data="ecoregion_mean",
                           sampler=diagonal_sampler, progress=events.append)[0]
    diag = rows_of(other.table, "coefficient").set_index(["term", "response"])
    low_rank = rows_of(fits[0].table, "coefficient").set_index(["term", "response"])
    assert other.converged and fits[0].converged
    gap = (low_rank["mean"] - diag["mean"]).abs() / low_rank["sd"]
    assert gap.max() < 0.3, gap.sort_values().tail(3)
    assert {e.chain for e in events if e.done == e.total} == {0, 1}


@pytest.mark.parametrize("form", ["centred", "marginalised"])
def test_cells_recovers_planted_random_intercept_spread(sampler, form):
    """The per-cell model recovers the planted coefficients, cell spread and residual
    correlation, with the intercepts sampled (centred) or integrated out (marginalised)."""
    if form != sampler.settings.random_intercepts:
        sampler = DriverSampler(SamplerSettings(**FAST, random_intercepts=form))
    rng = np.random.default_rng(77)
    n_cells, n_time = 18, 30
    cell_sd, cell_rho, rho = np.array([0.9, 0.5]), 0.5, 0.3
    sigma = (1.0, 0.8)
    beta = rng.normal(0.0, 0.5, size=(7, 2))
    ta, gpp, lst = (pop_z(rng.normal(size=n_cells * n_time)) for _ in range(3))
    cell_cov = np.outer(cell_sd, cell_sd) * np.array([[1, cell_rho], [cell_rho, 1]])
    offsets = rng.multivariate_normal([0, 0], cell_cov, size=n_cells)
    noise_cov = np.outer(sigma, sigma) * np.array([[1, rho], [rho, 1]])
    y = (design(ta, gpp, lst) @ beta + np.repeat(offsets, n_time, axis=0)
         + rng.multivariate_normal([0, 0], noise_cov, size=n_cells * n_time))
    columns = (y[:, 0], y[:, 1], ta, gpp, lst)
    blocks = {5: {k: v.reshape(n_cells, n_time) for k, v in zip(KEYS, columns)}}
    fits = _fit(blocks, sampler, "cells", [], [], max_cells=50)
    table = fits[0].table
    scale = y.std(axis=0)
    for _, row in rows_of(table, "cell_sd").iterrows():
        assert covered(row, cell_sd[RESPONSES.index(row["response"])] / scale[
            RESPONSES.index(row["response"])])
    beta_z = beta / scale
    checks = [covered(row, beta_z[TERMS.index(row["term"]), RESPONSES.index(row["response"])])
              for _, row in rows_of(table, "coefficient").iterrows()]
    assert np.mean(checks) >= 0.9
    assert covered(rows_of(table, "residual_correlation").iloc[0], rho)
    assert fits[0].cells == n_cells and fits[0].rows == n_cells * n_time
    assert table["rhat"].max() < 1.05


def test_pymc_sampler_gives_the_same_posterior_as_nutpie(mean_run, sampler):
    fits, _, _, _ = mean_run
    rng = np.random.default_rng(2024)   # regenerate ecoregion 1 exactly as mean_run did
    beta = rng.normal(0.0, 0.6, size=(7, 2))
    blocks, _ = simulate_mean(rng, 260, beta, np.array([3.0, -1.0]), (1.0, 0.7), 0.6)
    events = []
    pymc_fit = fit_ecoregions({1: blocks}, data="ecoregion_mean", progress=events.append,
                              settings=SamplerSettings(**{**FAST, "sampler": "pymc"}))[0]
    nutpie_table = fits[0].table.set_index(["parameter", "term", "response"])
    pymc_table = pymc_fit.table.set_index(["parameter", "term", "response"])
    assert pymc_fit.sampler == "pymc" and pymc_fit.converged
    difference = (pymc_table["mean"] - nutpie_table["mean"]).abs() / nutpie_table["sd"]
    assert difference.max() < 0.35
    assert (pymc_table["sd"] / nutpie_table["sd"]).between(0.8, 1.25).all()
    total = FAST["tune"] + FAST["draws"]
    assert {e.chain for e in events if e.done == total} == {0, 1}


# ------------------------------------------------------------- quadrants, clusters, the line

def test_quadrants_follow_the_signs():
    x = np.array([0.5, -0.2, -0.3, 0.1, 0.0, 0.4])
    y = np.array([0.1, 0.7, -0.2, -0.9, 0.3, 0.0])
    assert list(quadrant(x, y)) == ["I", "II", "III", "IV", "", ""]


def _coefficients_from(points: dict) -> pd.DataFrame:
    rows = []
    for (ecoregion, term), (p, sm, ok) in points.items():
        for response, value in (("P", p), ("SM", sm)):
            rows.append(dict(ecoregion=ecoregion, parameter="coefficient", term=term,
                             response=response, mean=value, converged=ok))
        rows.append(dict(ecoregion=ecoregion, parameter="intercept", term="Intercept",
                         response="P", mean=9.0, converged=ok))
    return pd.DataFrame(rows)


def test_driver_points_quadrants_clusters_and_line_follow_from_the_estimates():
    rng = np.random.default_rng(8)
    centres = np.array([[0.6, 0.5], [-0.5, 0.4], [0.3, -0.6]])
    points = {}
    for e in range(1, 7):
        for t, term in enumerate(TERMS):
            c = centres[(e + t) % 3]
            points[(e, term)] = (*(c + rng.normal(0, 0.05, 2)), e != 4)
    drivers = driver_points(_coefficients_from(points), n_clusters=3, seed=42)
    table = drivers.points
    assert len(table) == 6 * 7
    key = list(zip(table["ecoregion"], table["term"]))
    x = np.array([points[k][0] for k in key])
    y = np.array([points[k][1] for k in key])
    assert np.allclose(table["estimate_P"], x) and np.allclose(table["estimate_SM"], y)
    signs = {(1, 1): "I", (-1, 1): "II", (-1, -1): "III", (1, -1): "IV"}
    assert list(table["quadrant"]) == [signs[(int(np.sign(a)), int(np.sign(b)))]
                                       for a, b in zip(x, y)]
    assert list(table["negative_dependence"]) == [q in ("II", "IV") for q in table["quadrant"]]
    assert list(table["converged"]) == [e != 4 for e, _ in key]
    xy = np.column_stack([x, y])
    expected = KMeans(n_clusters=3, random_state=42, n_init=10).fit(xy)
    assert np.array_equal(table["cluster"].to_numpy(), expected.labels_)
    planted = np.array([(e + TERMS.index(t)) % 3 for e, t in key])
    assert pd.crosstab(planted, table["cluster"]).gt(0).sum(axis=1).eq(1).all()  # same partition
    slope, intercept = np.polyfit(x, y, 1)
    assert drivers.slope == pytest.approx(slope) and drivers.intercept == pytest.approx(intercept)


def test_clusters_and_line_degrade_gracefully():
    labels, centres = cluster_points(np.array([[1.0, 2.0], [1.0, 2.0]]), n_clusters=3)
    assert list(labels) == [0, 0] and np.allclose(centres, [[1.0, 2.0]])
    assert np.isnan(least_squares_line(np.array([1.0, 1.0]), np.array([0.0, 2.0]))[0])
    assert least_squares_line(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])) == \
        pytest.approx((2.0, 1.0))


# --------------------------------------------------------------------------- figure, report

def test_figure_and_report_show_the_estimates_and_the_non_converged_ecoregions():
    points = {(e, term): (0.1 * (e - 2) + 0.02 * t, 0.3 - 0.05 * t * e, e != 2)
              for e in (1, 2, 3) for t, term in enumerate(TERMS)}
    drivers = driver_points(_coefficients_from(points), n_clusters=3, seed=0)
    fig = driver_figure(drivers, "Monthly")
    ax = fig.axes[0]
    red = [line for line in ax.get_lines() if line.get_color() == "red"]
    assert len(red) == 1
    lx, ly = red[0].get_data()
    assert np.allclose(ly, drivers.slope * np.asarray(lx) + drivers.intercept)
    circles = sorted((tuple(np.round(p.center, 9)), p.radius) for p in ax.patches)
    assert [c for c, _ in circles] == sorted(tuple(np.round(c, 9)) for c in drivers.centres)
    for k, centre in enumerate(drivers.centres):
        members = drivers.points[drivers.points["cluster"] == k]
        farthest = np.hypot(members["estimate_P"] - centre[0],
                            members["estimate_SM"] - centre[1]).max()
        radius = dict(circles)[tuple(np.round(centre, 9))]
        assert radius >= farthest
    scattered = np.concatenate([c.get_offsets() for c in ax.collections])
    assert np.allclose(np.sort(scattered[:, 0]), np.sort(drivers.points["estimate_P"]))

    fits = [EcoregionFit(1, "fitted", table=pd.DataFrame({"rhat": [1.001], "ess_bulk": [900.0],
                                                          "ess_tail": [800.0]})),
            EcoregionFit(2, "fitted", divergences=3,
                         table=pd.DataFrame({"rhat": [1.2], "ess_bulk": [20.0],
                                             "ess_tail": [9.0]})),
            EcoregionFit(3, "skipped", reason="only 4 time steps with all five variables")]
    assert [f.converged for f in fits] == [True, False, False]
    page = report_html(figure_png(fig), diagnostics_table(fits), drivers, "Monthly drivers")
    section = page.split('id="convergence"')[1].split("</section>")[0]
    assert "2: max R-hat 1.200, 3 divergent transitions" in section and "1: max" not in section
    assert "3 (skipped): only 4 time steps" in page
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(embedded) == figure_png(fig)
