"""Sidecar QGIS layer styles (.qml) for the rasters the engine writes.

QGIS loads ``name.qml`` beside ``name.tif`` as the layer's default style, so every output opens
styled in the map canvas, in the Processing results and in any later project. The styles are
written as QGIS's own XML (``<qgis><pipe><rasterrenderer …>``) with the standard library.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import tables

QML_VERSION = "3.22.0-Białowieża"

# Colour ramps as (position 0–1, hex colour) stops.
DIVERGING_RED_BLUE = [(0.0, "#b2182b"), (0.25, "#ef8a62"), (0.5, "#f7f7f7"),
                      (0.75, "#67a9cf"), (1.0, "#2166ac")]
SEQUENTIAL_VIRIDIS = [(0.0, "#440154"), (0.25, "#3b528b"), (0.5, "#21918c"),
                      (0.75, "#5ec962"), (1.0, "#fde725")]
SEQUENTIAL_MAGMA = [(0.0, "#000004"), (0.25, "#51127c"), (0.5, "#b73779"),
                    (0.75, "#fc8961"), (1.0, "#fcfdbf")]
SEQUENTIAL_BLUES = [(0.0, "#f7fbff"), (0.5, "#6baed6"), (1.0, "#08306b")]


@dataclass(frozen=True)
class StyleClass:
    """One class of a paletted (categorical) style."""

    value: int
    label: str
    color: str


def _document(renderer: ET.Element, layer_opacity: float = 1.0) -> str:
    root = ET.Element("qgis", version=QML_VERSION, styleCategories="AllStyleCategories")
    pipe = ET.SubElement(root, "pipe")
    pipe.append(renderer)
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0",
                  colorizeRed="255", colorizeGreen="128", colorizeBlue="128",
                  colorizeStrength="100")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode") + "\n"


def _interpolate(stops: Sequence[tuple[float, str]], fraction: float) -> str:
    """Colour at ``fraction`` of a ramp given by stops, as #rrggbb."""
    fraction = min(max(fraction, 0.0), 1.0)
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if fraction <= p1:
            t = 0.0 if p1 == p0 else (fraction - p0) / (p1 - p0)
            rgb0 = [int(c0[i:i + 2], 16) for i in (1, 3, 5)]
            rgb1 = [int(c1[i:i + 2], 16) for i in (1, 3, 5)]
            return "#" + "".join(f"{round(a + t * (b - a)):02x}" for a, b in zip(rgb0, rgb1))
    return stops[-1][1]


def _format_value(value: float) -> str:
    return f"{value:.6g}"


def continuous_style(vmin: float, vmax: float, label: str = "",
                     ramp: Sequence[tuple[float, str]] = SEQUENTIAL_VIRIDIS,
                     band: int = 1, steps: int = 5) -> str:
    """A single-band pseudocolour style interpolating ``ramp`` from ``vmin`` to ``vmax``."""
    if not (vmin == vmin and vmax == vmax) or vmin == vmax:  # NaN or flat range
        vmin, vmax = (0.0, 1.0) if not (vmin == vmin) else (vmin - 0.5, vmin + 0.5)
    renderer = ET.Element("rasterrenderer", type="singlebandpseudocolor", band=str(band),
                          opacity="1", alphaBand="-1", nodataColor="",
                          classificationMin=_format_value(vmin),
                          classificationMax=_format_value(vmax))
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader",
                           colorRampType="INTERPOLATED", classificationMode="1", clip="0",
                           minimumValue=_format_value(vmin), maximumValue=_format_value(vmax),
                           labelPrecision="4")
    for i in range(steps):
        fraction = i / (steps - 1)
        value = vmin + fraction * (vmax - vmin)
        text = _format_value(value) + (f" {label}" if label and i in (0, steps - 1) else "")
        ET.SubElement(shader, "item", alpha="255", value=_format_value(value), label=text,
                      color=_interpolate(ramp, fraction))
    return _document(renderer)


def paletted_style(classes: Iterable[StyleClass], band: int = 1) -> str:
    """A categorical style naming each class value (families, status codes, biomes…)."""
    renderer = ET.Element("rasterrenderer", type="paletted", band=str(band), opacity="1",
                          alphaBand="-1", nodataColor="")
    palette = ET.SubElement(renderer, "colorPalette")
    for item in classes:
        ET.SubElement(palette, "paletteEntry", value=str(int(item.value)), color=item.color,
                      alpha="255", label=item.label)
    return _document(renderer)


def rgb_style(red_band: int = 1, green_band: int = 2, blue_band: int = 3) -> str:
    """A multiband colour style showing bands as red, green and blue, 0–255 unstretched."""
    renderer = ET.Element("rasterrenderer", type="multibandcolor", opacity="1", alphaBand="-1",
                          redBand=str(red_band), greenBand=str(green_band),
                          blueBand=str(blue_band), nodataColor="")
    for colour in ("red", "green", "blue"):
        element = ET.SubElement(renderer, f"{colour}ContrastEnhancement")
        ET.SubElement(element, "minValue").text = "0"
        ET.SubElement(element, "maxValue").text = "255"
        ET.SubElement(element, "algorithm").text = "NoEnhancement"
    return _document(renderer)


def sidecar_path(raster_path: str | os.PathLike) -> Path:
    """QGIS's default-style path for a raster: ``tau.tif`` → ``tau.qml``."""
    return Path(raster_path).with_suffix(".qml")


def write_sidecar_style(raster_path: str | os.PathLike, qml: str) -> Path:
    """Write ``qml`` beside ``raster_path`` so QGIS loads it as the layer's default style."""
    path = sidecar_path(raster_path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(qml, encoding="utf-8")
    os.replace(tmp, path)
    return path


# Presets used by the analysis steps ---------------------------------------------------------

def tau_style(band: int = 1) -> str:
    """Kendall's τ: diverging red (negative) – white – blue (positive) over −1…1."""
    return continuous_style(-1.0, 1.0, "τ", ramp=DIVERGING_RED_BLUE, band=band)


def tail_dependence_style(band: int = 1) -> str:
    """Tail dependence λ: sequential over 0…1."""
    return continuous_style(0.0, 1.0, "λ", ramp=SEQUENTIAL_MAGMA, band=band)


def lag_style(max_lag: int) -> str:
    """Optimal lag in months: one colour per lag 0…max_lag."""
    return paletted_style(
        StyleClass(k, f"{k} month" + ("" if k == 1 else "s"),
                   _interpolate(SEQUENTIAL_VIRIDIS, k / max(max_lag, 1)))
        for k in range(max_lag + 1))


def status_style() -> str:
    """Per-cell status codes (fitted, no data, too few values…), named."""
    return paletted_style(StyleClass(c["code"], c["label"], c["color"])
                          for c in tables.status_codes())


def biome_style() -> str:
    """WWF biome classes with their names."""
    return paletted_style(StyleClass(b["code"], f'{b["code"]} {b["name"]}', b["color"])
                          for b in tables.biomes())


def family_style() -> str:
    """VineCopula family codes with their names."""
    return paletted_style(StyleClass(f["code"], f'{f["code"]} {f["name"]}', f["color"])
                          for f in tables.copula_families())


def _rgba(colour: str) -> str:
    return ",".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5)) + ",255"


def categorized_fill_style(field: str, classes: Iterable[StyleClass]) -> str:
    """A polygon layer style: one fill colour per value of ``field``, labelled."""
    root = ET.Element("qgis", version=QML_VERSION, styleCategories="AllStyleCategories")
    renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=field,
                             symbollevels="0", enableorderby="0", forceraster="0")
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for index, item in enumerate(classes):
        ET.SubElement(categories, "category", render="true", symbol=str(index),
                      value=str(int(item.value)), label=item.label)
        symbol = ET.SubElement(symbols, "symbol", name=str(index), type="fill", alpha="1",
                               clip_to_extent="1", force_rhr="0")
        layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleFill", "pass": "0",
                                                       "locked": "0", "enabled": "1"})
        for key, value in (("color", _rgba(item.color)), ("outline_color", "60,60,60,255"),
                           ("outline_width", "0.1"), ("outline_width_unit", "MM"),
                           ("style", "solid"), ("outline_style", "solid")):
            ET.SubElement(layer, "prop", k=key, v=value)
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode") + "\n"


def biome_vector_style(field: str = "BIOME") -> str:
    """WWF biome polygons coloured and named as in the raster biome style."""
    return categorized_fill_style(field, (StyleClass(b["code"], f'{b["code"]} {b["name"]}',
                                                     b["color"]) for b in tables.biomes()))
