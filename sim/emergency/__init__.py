"""Emergency response: incidents, stations and units, dispatch, coverage and siting."""
