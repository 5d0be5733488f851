"""Ternary composites: closed-form colours and the legend PNG read back pixel by pixel."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from soilp_qgis.errors import InputError
from soilp_qgis.ternary import RGB_NODATA, ternary_legend_png, ternary_rgb

WEIGHTS = np.array(
    [
        [1.0, 0.0, 0.0],  # frequency only
        [0.0, 1.0, 0.0],  # volume only
        [0.0, 0.0, 1.0],  # ET only
        [0.2, 0.5, 0.3],
        [1 / 3, 1 / 3, 1 / 3],
        [np.nan, np.nan, np.nan],  # not fitted
    ]
)


def test_cmy_colours_closed_form():
    rgb = ternary_rgb(WEIGHTS, "CMY")
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 6)
    # R = 255(1 - W_freq), G = 255(1 - W_vol), B = 255(1 - W_ET); 0 is kept for nodata, so 0 -> 1
    expected = np.array(
        [
            [1, 255, 255],  # cyan
            [255, 1, 255],  # magenta
            [255, 255, 1],  # yellow
            # 255*0.8=204, 255*0.5=127.5 -> 128, 255*0.7=178.5 -> 178 (round half even)
            [204, 128, 178],
            [170, 170, 170],
            [RGB_NODATA] * 3,
        ]
    ).T
    np.testing.assert_array_equal(rgb, expected)


def test_rgb_colours_closed_form():
    rgb = ternary_rgb(WEIGHTS, "RGB")
    # R = 255 W_vol, G = 255 W_freq, B = 255 W_ET
    expected = np.array(
        [
            [1, 255, 1],
            [255, 1, 1],
            [1, 1, 255],
            [128, 51, 76],  # 127.5 -> 128, 51, 76.5 -> 76
            [85, 85, 85],
            [RGB_NODATA] * 3,
        ]
    ).T
    np.testing.assert_array_equal(rgb, expected)
    # fitted cells never carry the nodata value in any band
    assert np.all(rgb[:, :5] != RGB_NODATA)


def test_invalid_color_model_raises():
    with pytest.raises(InputError, match="COLOR_MODEL"):
        ternary_rgb(WEIGHTS, "HSV")


# corner -> (weights of the sample point near it, expected colour there per model)
_NEAR = 0.95


def _expected_near_corner(corner, model):
    w = np.full(3, (1 - _NEAR) / 2)
    w[{"frequency": 0, "volume": 1, "et": 2}[corner]] = _NEAR
    if model == "CMY":
        return 1.0 - w
    return w[[1, 0, 2]]


@pytest.mark.parametrize("model", ["CMY", "RGB"])
def test_legend_png_corner_colours_match_colour_model(tmp_path, model):
    legend = ternary_legend_png(tmp_path / "legend.png", model, {0: 0.3, 1: 0.4, 2: 0.2, 3: 0.1})
    image = mpimg.imread(legend.path)
    assert image.shape[:2] == legend.size
    corners = {k: np.array(v) for k, v in legend.corners.items()}
    centroid = np.mean(list(corners.values()), axis=0)
    for corner, position in corners.items():
        # a point with weight _NEAR on this corner: 1 - _NEAR of the way towards the centroid,
        # scaled by 3/2 since the centroid has weight 1/3 on the corner
        point = position + (1 - _NEAR) * 1.5 * (centroid - position)
        row, col = np.rint(point).astype(int)
        np.testing.assert_allclose(image[row, col, :3], _expected_near_corner(corner, model),
                                   atol=0.03)
    # the corner colours differ between the models: frequency is cyan in CMY, green in RGB
    row, col = np.rint(corners["frequency"] + 0.05 * (centroid - corners["frequency"])).astype(int)
    expected_freq = [0.0, 1.0, 1.0] if model == "CMY" else [0.0, 1.0, 0.0]
    np.testing.assert_allclose(image[row, col, :3], expected_freq, atol=0.08)
    # outside the triangle (below its base, between the bottom corners) the page is white
    below = (corners["frequency"] + corners["volume"]) / 2 + np.array([15.0, 0.0])
    np.testing.assert_allclose(image[int(below[0]), int(below[1]), :3], 1.0)
