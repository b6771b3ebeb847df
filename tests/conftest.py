"""Shared fixtures: the vendored real samples (see testdata.py) and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from testdata import NMEA_SAMPLES

@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(params=NMEA_SAMPLES, ids=lambda p: p.name)
def nmea_sample(request) -> Path:
    return request.param
