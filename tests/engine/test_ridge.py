"""Ridge-regression control of soil moisture: checked against scikit-learn and planted drivers."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV

from soilp_qgis.errors import InputError
from soilp_qgis.ridge import (
    DOMINANT_CLASSES,
    DOMINANT_NODATA,
    control_weights,
    dominant_class,
    dominant_class_shares,
    ridge_control,
    ridge_control_block,
)


def _zscore(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / a.std()


def _standardised_cell(variables, cell):
    """Independent per-cell standardisation on the steps where every variable is valid."""
    rows = np.all([np.isfinite(v[cell]) for v in variables], axis=0)
    y = _zscore(variables[0][cell][rows].astype(np.float64))
    x = np.column_stack([_zscore(v[cell][rows].astype(np.float64)) for v in variables[1:]])
    return x, y


def _simulated(rng, cells, steps, missing=0.1, with_temperature=True):
    freq, vol, et, temp = rng.normal(size=(4, cells, steps))
    vol += 0.5 * freq  # collinear predictors, as in real data
    sm = 0.6 * vol + 0.3 * freq - 0.4 * et + 0.2 * temp + rng.normal(size=(cells, steps))
    variables = [sm, freq, vol, et] + ([temp] if with_temperature else [])
    for v in variables:  # each cell gets its own, different, missing steps
        v[rng.random((cells, steps)) < missing / len(variables)] = np.nan
    return variables


@pytest.mark.parametrize("with_temperature", [True, False])
@pytest.mark.parametrize("alpha", [0.1, 4.0])
def test_coefficients_equal_sklearn_ridge_per_cell(with_temperature, alpha):
    rng = np.random.default_rng(11)
    variables = _simulated(rng, cells=23, steps=48, with_temperature=with_temperature)
    # chunk_cells smaller than the block: chunk boundaries must not change anything
    result = ridge_control(*variables, alpha=alpha, chunk_cells=5)
    assert np.all(result.status == 0)
    assert len({tuple(np.isfinite(np.array(variables)[:, c]).all(0)) for c in range(23)}) > 20
    p = len(variables) - 1
    for cell in range(23):
        x, y = _standardised_cell(variables, cell)
        expected = Ridge(alpha=alpha).fit(x, y).coef_
        np.testing.assert_allclose(result.coefficients[cell, :p], expected, rtol=0, atol=1e-8)
        assert result.valid_steps[cell] == y.size
        assert result.alpha[cell] == alpha
    if not with_temperature:
        assert np.all(np.isnan(result.coefficients[:, 3]))


def test_float32_input_equals_sklearn_on_the_same_values():
    rng = np.random.default_rng(5)
    variables = [v.astype(np.float32) for v in _simulated(rng, cells=6, steps=40)]
    result = ridge_control(*variables, alpha=1.0)
    for cell in range(6):
        x, y = _standardised_cell(variables, cell)
        np.testing.assert_allclose(result.coefficients[cell], Ridge(alpha=1.0).fit(x, y).coef_,
                                   atol=1e-8)


def _explicit_loo_mse(x, y, alpha):
    """Mean squared leave-one-out prediction error, refitting scikit-learn's Ridge n times."""
    errors = []
    for i in range(y.size):
        keep = np.arange(y.size) != i
        model = Ridge(alpha=alpha).fit(x[keep], y[keep])
        errors.append(y[i] - model.predict(x[i : i + 1])[0])
    return np.mean(np.square(errors))


def test_automatic_alpha_matches_explicit_leave_one_out_search():
    rng = np.random.default_rng(3)
    steps = 30
    freq, vol, et, temp = rng.normal(size=(4, 4, steps))
    sm = rng.normal(size=(4, steps))
    sm[0] += 3.0 * vol[0]  # strong signal: small alpha
    sm[1] += 0.3 * vol[1] + 0.3 * freq[1]  # weak signal: intermediate alpha
    sm[2] += 0.5 * et[2]  # sm[3] is pure noise: largest alpha
    sm[1, [2, 7]] = np.nan
    et[2, 11] = np.nan
    variables = [sm, freq, vol, et, temp]
    grid = np.logspace(-2, 2, 9)
    result = ridge_control(*variables, alpha_grid=grid)
    assert np.all(result.status == 0)
    for cell in range(4):
        x, y = _standardised_cell(variables, cell)
        loo = [_explicit_loo_mse(x, y, a) for a in grid]
        expected_alpha = grid[int(np.argmin(loo))]
        assert result.alpha[cell] == expected_alpha
        if np.all(np.isfinite([v[cell] for v in variables])):
            assert RidgeCV(alphas=grid).fit(x, y).alpha_ == expected_alpha
        np.testing.assert_allclose(
            result.coefficients[cell], Ridge(alpha=expected_alpha).fit(x, y).coef_, atol=1e-8
        )
    assert len(set(result.alpha)) >= 3


def test_planted_drivers_are_recovered():
    rng = np.random.default_rng(7)
    cells_per_case, steps = 25, 240
    freq, vol, et, temp = rng.normal(size=(4, 5 * cells_per_case, steps))
    noise = 0.3 * rng.normal(size=freq.shape)
    case = np.repeat(np.arange(5), cells_per_case)
    sm = np.select(
        [case[:, None] == k for k in range(5)],
        [
            vol + noise,  # volume only -> 1
            freq + noise,  # frequency only -> 2
            -et + noise,  # ET only (negative) -> 3
            freq + vol + et + noise,  # all three alike -> mixed
            2.0 * temp + vol + noise,  # volume, with a strong control variable -> 1
        ],
    )
    result = ridge_control(sm, freq, vol, et, temp)
    expected = np.array([1, 2, 3, 0, 1])[case]
    np.testing.assert_array_equal(result.dominant, expected)
    assert np.all(result.coefficients[case == 2, 2] < 0)
    # the control variable carries its own effect but is kept out of the weights
    # (planted standardised coefficients: 2 / sd(SM) for Ta and 1 / sd(SM) for volume)
    sd_sm = np.sqrt(2.0**2 + 1.0 + 0.3**2)
    np.testing.assert_allclose(result.coefficients[case == 4, 3].mean(), 2.0 / sd_sm, atol=0.03)
    np.testing.assert_allclose(result.coefficients[case == 4, 1].mean(), 1.0 / sd_sm, atol=0.03)
    assert np.all(result.weights[case == 4, 1] > 0.9)


def test_weights_are_normalised_absolute_coefficients():
    rng = np.random.default_rng(2)
    result = ridge_control(*_simulated(rng, cells=30, steps=36), alpha=0.5)
    b = np.abs(result.coefficients[:, :3])
    np.testing.assert_allclose(result.weights, b / b.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(control_weights(result.coefficients), result.weights, rtol=1e-12)


def test_dominant_class_thresholds():
    weights = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.75, 0.2, 0.05],
                        [0.4, 0.3, 0.3], [np.nan] * 3])
    np.testing.assert_array_equal(dominant_class(weights), [2, 1, 3, 0, 0, DOMINANT_NODATA])
    np.testing.assert_array_equal(dominant_class(weights, strong_control=0.35),
                                  [2, 1, 3, 2, 2, DOMINANT_NODATA])


def test_status_codes_and_nodata():
    rng = np.random.default_rng(9)
    cells, steps = 6, 40
    sm, freq, vol, et = rng.normal(size=(4, cells, steps))
    sm[0] = np.nan  # no data
    vol[1, 8:] = np.nan  # 8 steps < min_observations=10
    freq[2] = 4.0  # constant predictor
    et[3, :20] = np.nan  # fine: 20 valid steps
    sm[4] = 0.25  # constant response
    result = ridge_control(sm, freq, vol, et, alpha=1.0, min_observations=10)
    np.testing.assert_array_equal(result.status, [1, 2, 3, 0, 3, 0])
    np.testing.assert_array_equal(result.valid_steps, [0, 8, 40, 20, 40, 40])
    bad = result.status != 0
    assert np.all(np.isnan(result.coefficients[bad])) and np.all(np.isnan(result.weights[bad]))
    assert np.all(np.isnan(result.alpha[bad]))
    assert np.all(result.dominant[bad] == DOMINANT_NODATA)
    assert np.all(np.isfinite(result.weights[~bad]))
    # min_observations counts the steps where every variable is valid
    assert ridge_control(sm, freq, vol, et, alpha=1.0, min_observations=21).status[3] == 2


def test_fit_failed_when_unpenalised_predictors_are_collinear():
    rng = np.random.default_rng(4)
    sm, freq, et = rng.normal(size=(3, 2, 30))
    vol = freq.copy()
    vol[1] += rng.normal(size=30)
    result = ridge_control(sm, freq, vol, et, alpha=0.0)
    np.testing.assert_array_equal(result.status, [5, 0])
    assert np.all(np.isnan(result.coefficients[0])) and result.dominant[0] == DOMINANT_NODATA
    # values whose sums overflow float64 cannot be standardised
    huge = et.copy()
    huge[1] = 1e307 * (1.5 + rng.random(30))
    assert ridge_control(sm, freq, vol, huge, alpha=1.0).status[1] == 5
    # with a penalty the collinear cell has a unique fit, equal to scikit-learn's
    penalised = ridge_control(sm, freq, vol, et, alpha=1.0)
    x, y = _standardised_cell([sm, freq, vol, et], 0)
    np.testing.assert_allclose(penalised.coefficients[0, :3], Ridge(alpha=1.0).fit(x, y).coef_,
                               atol=1e-8)


def test_invalid_parameters_raise_input_errors():
    block = np.zeros((3, 12))
    with pytest.raises(InputError, match="PRECIP_VOLUME"):
        ridge_control(block, block, np.zeros((3, 11)), block)
    with pytest.raises(InputError, match="ALPHA"):
        ridge_control(block, block, block, block, alpha=-1.0)
    with pytest.raises(InputError, match="STRONG_CONTROL"):
        ridge_control(block, block, block, block, strong_control=1.5)


def test_dominant_class_shares_overall_and_per_ecoregion():
    """The ridge step's table: the class shares of the valid cells, per ecoregion code and
    'all' (counted by hand below)."""
    from soilp_qgis.steps.common import ecoregion_label, summarise_by_ecoregion

    dominant = np.array([1, 1, 2, 0, 3, DOMINANT_NODATA, 1, 3, 3, DOMINANT_NODATA], dtype=np.uint8)
    ecoregions = np.array([4, 4, 4, 4, 13, 13, 0, 13, 13, 4])
    valid = dominant != DOMINANT_NODATA
    rows = summarise_by_ecoregion(ecoregions, valid, lambda mask: {
        f"{DOMINANT_CLASSES[code]}_share": share
        for code, share in dominant_class_shares(dominant[mask]).items()})
    assert [r["ecoregion"] for r in rows] == [ecoregion_label(4), ecoregion_label(13), "all"]
    eco4, eco13, overall = rows
    assert overall["valid_cells"] == 8
    assert overall["volume_share"] == pytest.approx(3 / 8)
    assert overall["frequency_share"] == pytest.approx(1 / 8)
    assert overall["evapotranspiration_share"] == pytest.approx(3 / 8)
    assert overall["mixed_share"] == pytest.approx(1 / 8)
    assert eco4["valid_cells"] == 4 and eco4["volume_share"] == pytest.approx(0.5)
    assert eco13["valid_cells"] == 3 and eco13["evapotranspiration_share"] == pytest.approx(1.0)
    assert eco13["mixed_share"] == 0.0
    assert dominant_class_shares(dominant) == pytest.approx({0: 1 / 8, 1: 3 / 8, 2: 1 / 8,
                                                             3: 3 / 8})
    empty = dominant_class_shares(np.full(3, DOMINANT_NODATA, dtype=np.uint8))
    assert all(np.isnan(share) for share in empty.values())


def test_block_function_reads_named_inputs():
    rng = np.random.default_rng(8)
    sm, freq, vol, et = _simulated(rng, cells=4, steps=30, with_temperature=False)
    blocks = {"soil_moisture": sm, "precip_frequency": freq, "precip_volume": vol,
              "evapotranspiration": et}
    out = ridge_control_block(blocks, alpha=2.0, strong_control=0.6)
    assert set(out) == {"coefficients", "alpha", "weights", "dominant", "status"}
    for cell in range(4):
        x, y = _standardised_cell([sm, freq, vol, et], cell)
        np.testing.assert_allclose(out["coefficients"][cell, :3],
                                   Ridge(alpha=2.0).fit(x, y).coef_, atol=1e-8)
    np.testing.assert_array_equal(out["dominant"], dominant_class(out["weights"], 0.6))
