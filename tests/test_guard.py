"""The network guard itself: a test that reaches past loopback must fail loudly."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import RealNetworkCallError


def test_non_loopback_connection_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(RealNetworkCallError, match=r"203\.0\.113\.7"):
        sock.connect(("203.0.113.7", 443))


def test_loopback_connection_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
