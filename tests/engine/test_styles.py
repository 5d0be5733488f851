"""Sidecar styles: QGIS's XML, values and colours as the presets promise."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from soilp_qgis import styles, tables


def parse(qml: str) -> ET.Element:
    return ET.fromstring(qml.split("\n", 1)[1])


def test_tau_style_is_a_diverging_ramp_from_minus_one_to_one_white_at_zero():
    renderer = parse(styles.tau_style()).find("pipe/rasterrenderer")
    assert renderer.get("type") == "singlebandpseudocolor"
    items = renderer.findall("rastershader/colorrampshader/item")
    values = [float(item.get("value")) for item in items]
    assert values == [-1.0, -0.5, 0.0, 0.5, 1.0]
    colours = {float(item.get("value")): item.get("color") for item in items}
    assert colours[0.0] == "#f7f7f7" and colours[-1.0] == "#b2182b" and colours[1.0] == "#2166ac"


def test_ramp_interpolation_is_linear_in_rgb():
    # halfway between #000000 and #ffffff is #808080 (127.5 rounds to 128)
    assert styles._interpolate([(0.0, "#000000"), (1.0, "#ffffff")], 0.5) == "#808080"
    assert styles._interpolate([(0.0, "#000000"), (1.0, "#ffffff")], 2.0) == "#ffffff"


def test_status_and_biome_styles_name_every_class_of_the_shared_tables():
    entries = parse(styles.status_style()).findall("pipe/rasterrenderer/colorPalette/paletteEntry")
    assert [int(e.get("value")) for e in entries] == [0, 1, 2, 3, 4, 5]
    assert entries[2].get("label").startswith("Too few values")
    biome_entries = parse(styles.biome_style()).findall(
        "pipe/rasterrenderer/colorPalette/paletteEntry")
    assert sorted(int(e.get("value")) for e in biome_entries) == list(range(1, 15)) + [98, 99]
    assert tables.biome_names()[13] == "Deserts and Xeric Shrublands"


def test_sidecar_path_follows_qgis_default_style_convention(tmp_path):
    raster = tmp_path / "kendall_tau.tif"
    written = styles.write_sidecar_style(raster, styles.tail_dependence_style())
    assert written == tmp_path / "kendall_tau.qml"
    assert parse(written.read_text()).find("pipe/rasterrenderer").get("classificationMax") == "1"
