"""soilp QGIS plugin: soil moisture–precipitation dependence."""


def classFactory(iface):  # noqa: N802 - QGIS's name
    """Entry point QGIS calls to create the plugin."""
    from .plugin import SoilpPlugin

    return SoilpPlugin(iface)
