"""Run the benchmarks: ``python -m bench [name ...]`` (default: all ``bench/bench_*.py``).

Each module has a ``main()`` that prints its own table of numbers.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def main(names: list[str]) -> None:
    names = names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        sys.exit(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}")
    for name in names:
        print(f"\n=== bench {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"(bench {name}: {time.perf_counter() - started:.1f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
