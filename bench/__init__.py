"""soilp benchmarks (``make bench``): speed and memory, never asserted by tests."""
