"""Ternary colour composites of the ridge-control weights, and their legend (paper figures 4-6).

Colour models (weights W in 0-1, in the order frequency, volume, ET):
- ``CMY`` (the paper's maps: frequency cyan, volume magenta, ET yellow):
  R = 255*(1 - W_freq), G = 255*(1 - W_vol), B = 255*(1 - W_ET).
- ``RGB``: R = 255*W_vol, G = 255*W_freq, B = 255*W_ET.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soilp_qgis.errors import InputError

__all__ = [
    "COLOR_MODELS",
    "RGB_NODATA",
    "ternary_rgb",
    "ternary_legend_png",
    "TernaryLegend",
]

COLOR_MODELS = ("CMY", "RGB")
#: Value of all three bands where a cell has no weights. Fitted cells never have a 0 band
#: (their channel values are clamped to 1-255), so a per-band nodata of 0 leaves them opaque.
RGB_NODATA = 0

# Triangle vertices in legend data coordinates: frequency bottom-left, volume bottom-right, ET top.
_VERTICES = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])
_CORNER_LABELS = ("Frequency", "Volume", "ET")
# Bars of the class-share inset: (dominant class code, label).
_BARS = ((2, "Frequency"), (1, "Volume"), (3, "ET"), (0, "Mixed"))
_MIXED_COLOR = (0.6, 0.6, 0.6)


def _check_model(color_model: str) -> str:
    model = str(color_model).upper()
    if model not in COLOR_MODELS:
        raise InputError(f"COLOR_MODEL must be one of {', '.join(COLOR_MODELS)}, "
                         f"got {color_model!r}")
    return model


def _colors(weights: np.ndarray, model: str) -> np.ndarray:
    """Channel intensities 0-1, ``(..., 3)`` (R, G, B) from ``(..., 3)`` weights (freq, vol, ET)."""
    w = np.asarray(weights, dtype=np.float64)
    if model == "CMY":
        return 1.0 - w
    return w[..., [1, 0, 2]]


def ternary_rgb(weights: np.ndarray, color_model: str = "CMY") -> np.ndarray:
    """Byte composite ``(3, cells)`` (R, G, B) from ``(cells, 3)`` weights (frequency, volume, ET).

    Channels are ``round(255 * intensity)`` per the colour model, clamped to 1-255 for cells with
    finite weights; cells with any non-finite weight are :data:`RGB_NODATA` in all three bands.
    """
    model = _check_model(color_model)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != 3:
        raise InputError(f"weights: expected shape (cells, 3), got {w.shape}")
    finite = np.all(np.isfinite(w), axis=1)
    intensity = _colors(np.where(finite[:, None], np.clip(w, 0.0, 1.0), 0.0), model)
    rgb = np.clip(np.rint(255.0 * intensity), 1, 255).astype(np.uint8)
    rgb[~finite] = RGB_NODATA
    return np.ascontiguousarray(rgb.T)


@dataclass
class TernaryLegend:
    """Where :func:`ternary_legend_png` drew things: PNG pixel positions ``(row, col)`` of the
    triangle's corners, keyed ``frequency``, ``volume``, ``et``, and the image size
    ``(rows, cols)``."""

    path: Path
    corners: dict[str, tuple[float, float]]
    size: tuple[int, int]


def ternary_legend_png(
    path: str | Path,
    color_model: str,
    class_shares: Mapping[int, float] | None,
    *,
    strong_control: float = 0.75,
    title: str | None = None,
    dpi: int = 150,
) -> TernaryLegend:
    """Write the ternary legend triangle in the colours of ``color_model`` to a PNG at ``path``.

    The triangle is filled with the composite's colour at every weight combination, with dashed
    lines where one weight equals ``strong_control``. ``class_shares`` maps dominant class codes
    (0 mixed, 1 volume, 2 frequency, 3 ET) to fractions 0-1 and is drawn as the class-share
    histogram beside it (the paper's inset); ``None`` leaves the histogram out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    model = _check_model(color_model)
    path = Path(path)
    fig = Figure(figsize=(7.0, 3.6), dpi=dpi)
    FigureCanvasAgg(fig)
    tri_ax = fig.add_axes((0.02, 0.04, 0.56, 0.84) if class_shares is not None
                          else (0.1, 0.04, 0.8, 0.84))
    _draw_triangle(tri_ax, model, strong_control)
    if class_shares is not None:
        _draw_histogram(fig.add_axes((0.68, 0.2, 0.3, 0.6)), model, class_shares, strong_control)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=dpi, facecolor="white")

    width, height = fig.canvas.get_width_height()
    corners = {}
    for key, vertex in zip(("frequency", "volume", "et"), _VERTICES):
        x, y = tri_ax.transData.transform(vertex)
        corners[key] = (float(height - y), float(x))
    return TernaryLegend(path=path, corners=corners, size=(height, width))


def _draw_triangle(ax, model: str, strong_control: float, resolution: int = 400) -> None:
    """Fill the triangle with the composite colour of each (frequency, volume, ET) weight."""
    height = _VERTICES[2, 1]
    xs = (np.arange(resolution) + 0.5) / resolution
    ys = (np.arange(resolution) + 0.5) / resolution * height
    gx, gy = np.meshgrid(xs, ys)
    w_et = gy / height
    w_vol = gx - 0.5 * w_et
    w_freq = 1.0 - w_vol - w_et
    weights = np.stack([w_freq, w_vol, w_et], axis=-1)
    inside = np.all(weights >= 0.0, axis=-1)
    image = np.zeros((resolution, resolution, 4))
    image[..., :3] = _colors(np.clip(weights, 0.0, 1.0), model)
    image[..., 3] = inside
    ax.imshow(image, origin="lower", extent=(0.0, 1.0, 0.0, height), interpolation="nearest")
    ax.plot(*np.vstack([_VERTICES, _VERTICES[:1]]).T, color="black", linewidth=0.8)
    for i in range(3):
        # The line where weight i equals strong_control joins two points on the edges from vertex i.
        a, b, c = _VERTICES[i], _VERTICES[(i + 1) % 3], _VERTICES[(i + 2) % 3]
        p = strong_control * a + (1 - strong_control) * b
        q = strong_control * a + (1 - strong_control) * c
        ax.plot([p[0], q[0]], [p[1], q[1]], color="black", linewidth=0.7, linestyle="--")
    offsets = ((-0.02, -0.05, "right"), (0.02, -0.05, "left"), (0.0, 0.03, "center"))
    for vertex, label, (dx, dy, ha) in zip(_VERTICES, _CORNER_LABELS, offsets):
        ax.text(vertex[0] + dx, vertex[1] + dy, label, ha=ha, va="center", fontsize=10)
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylim(-0.12, height + 0.08)
    ax.set_aspect("equal")
    ax.axis("off")


def _draw_histogram(ax, model: str, class_shares: Mapping[int, float],
                    strong_control: float) -> None:
    """Bar chart of the share of cells per dominant class, in the corner colours."""
    corner_weight = {2: (1.0, 0.0, 0.0), 1: (0.0, 1.0, 0.0), 3: (0.0, 0.0, 1.0)}
    labels, heights, colors = [], [], []
    for code, label in _BARS:
        share = float(class_shares.get(code, 0.0))
        labels.append(label)
        heights.append(100.0 * (share if np.isfinite(share) else 0.0))
        colors.append(tuple(_colors(np.array(corner_weight[code]), model))
                      if code in corner_weight else _MIXED_COLOR)
    bars = ax.bar(range(len(labels)), heights, color=colors, edgecolor="black", linewidth=0.6)
    for bar, value in zip(bars, heights):
        ax.text(bar.get_x() + bar.get_width() / 2, value, f"{value:.1f}", ha="center",
                va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=30)
    ax.set_ylabel("Share of cells (%)", fontsize=9)
    ax.set_ylim(0, max(max(heights), 1.0) * 1.18)
    ax.set_title(f"Strong control (W > {strong_control:g})", fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
