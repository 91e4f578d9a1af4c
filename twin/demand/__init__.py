"""Travel demand: synthesised trips, their parameters, and trips read from CSV."""
