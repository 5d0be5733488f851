"""Errors meant for the analyst: their message is the one-line reason the plugin shows."""


class SoilpError(Exception):
    """A problem with the inputs or the run that the user can act on."""


class InputError(SoilpError):
    """An input layer or parameter is unusable (missing, corrupt, wrong kind)."""


class StackMismatchError(SoilpError):
    """Two time stacks used together differ in CRS, grid or time steps."""
