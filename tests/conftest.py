"""Test-wide guards (no test reaches the internet or a real model provider) and the `db_url` fixture."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stores import POSTGRES_ENV, backends, fresh_postgres_schema

# litellm fetches its price map from GitHub at import unless told not to.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
# Real provider keys in the developer's shell must never be used by a test.
_PROVIDER_KEYS = (
    "DEEPSEEK_API_KEY",
    "XAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",  # litellm accepts it for Gemini too
    "PACIFICA_PRIVATE_KEY",
    "PACIFICA_KEY_FILE",
    "PACIFICA_ACCOUNT",
)
for _key in _PROVIDER_KEYS:
    os.environ.pop(_key, None)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class RealNetworkCallError(AssertionError):
    """A test tried to reach a host that is not loopback (a real exchange or model provider)."""


def _check_address(address: Any) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
        raise RealNetworkCallError(f"test tried to connect to {host}: only loopback is allowed")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_real_network() -> Iterator[None]:
    """Fail any connection to a non-loopback address, whatever library makes it."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, and PostgreSQL too when SWARM_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield str(tmp_path / "swarm.db")
        return
    with fresh_postgres_schema(os.environ[POSTGRES_ENV]) as url:
        yield url
