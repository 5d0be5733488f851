"""The soilp Processing provider and its algorithms (thin adapters over the engine)."""
