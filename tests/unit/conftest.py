from __future__ import annotations

import pytest

from exception_bot.domain.settings import Config
from tests.requests import default_config


@pytest.fixture(scope="session")
def config() -> Config:
    return default_config()
