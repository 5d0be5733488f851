"""Engine steps: the IO edge of each toolbox algorithm (read inputs, run the science, write
outputs).

A step is ``def step(params: dict, report: Reporter) -> dict``; register it in ``cli.STEPS``.
"""
