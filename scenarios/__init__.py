"""What-if scenarios: TOML language, runs, comparisons, batch runs and results."""
