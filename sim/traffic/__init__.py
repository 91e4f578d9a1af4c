"""Traffic on the drive network: the engine, its parameters, routing tables and records."""
