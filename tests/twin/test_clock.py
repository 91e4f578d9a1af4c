"""Clock times: the one parser of ``H:MM[:SS]`` text and seconds, and its limits."""

from __future__ import annotations

import pytest

from twin.clock import format_clock, parse_clock
from twin.errors import ConfigError, TripsError


def test_text_and_seconds():
    assert parse_clock("06:00") == 21600.0
    assert parse_clock("06:30:15") == 23415.0
    assert parse_clock("24:00") == 86400.0
    assert parse_clock("3600") == 3600.0
    assert parse_clock(90.5) == 90.5
    assert format_clock(23415.0) == "06:30:15"


@pytest.mark.parametrize("bad", ["06:75", "", "  ", "7h30", "-5", "nan"])
def test_bad_text_names_the_value(bad):
    with pytest.raises(ConfigError, match="--start"):
        parse_clock(bad, what="--start", error=ConfigError)


def test_latest_bounds_the_time():
    assert parse_clock("48:00", latest=172_800) == 172_800.0
    with pytest.raises(TripsError, match="later than 24:00:00"):
        parse_clock("25:00", latest=86_400)
