"""Tourist sites: the planner-editable attraction table and its matching to a city."""
