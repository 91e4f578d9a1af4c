"""Building a city: OSM or GMNS input to networks, POIs, buildings, population and zones."""
