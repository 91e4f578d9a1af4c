"""Fixtures for the kernel tests: run a test once per backend."""

from __future__ import annotations

import pytest

from tests.kernels.graphs import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch) -> str:
    """The kernel backend (``TWIN_KERNELS``) this test runs under."""
    monkeypatch.setenv("TWIN_KERNELS", request.param)
    return request.param
