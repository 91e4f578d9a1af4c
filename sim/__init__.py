"""The SimPy world: traffic, tourists and emergency response on one clock and one network."""
