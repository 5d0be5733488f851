"""The plugin object: registers the Processing provider (GUI and qgis_process alike)."""

from qgis.core import QgsApplication


class SoilpPlugin:
    """Registers the soilp Processing provider; the plugin has no other user interface."""

    def __init__(self, iface):
        self.iface = iface  # None under qgis_process
        self.provider = None  # kept here so the provider is not garbage-collected

    def initProcessing(self):  # noqa: N802 - QGIS's name
        """Register the provider; qgis_process calls this without initGui."""
        if self.provider is not None:
            return
        from .processing_algs.provider import SoilpProvider

        self.provider = SoilpProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS's name
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
