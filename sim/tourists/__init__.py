"""Tourists: parties, itineraries, ticket gates, their parameters and records."""
