"""A planted signing key and the forms it could leak in, for the tests that look for it in logs
and on the wire; and a log file fixture that writes everything, as a deployment would."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import base58
import pytest
from nacl.signing import SigningKey


def b58(data: bytes) -> str:
    return base58.b58encode(data).decode()


def planted(seed: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The 64-byte secret of `seed`, and every form of seed and secret a leak would show."""
    secret = seed + bytes(SigningKey(seed).verify_key)
    return secret, (b58(secret), b58(seed), seed.hex(), secret.hex())


@pytest.fixture(name="log_file")
def log_file_fixture(tmp_path: Path) -> Iterator[Path]:
    """Everything logged at DEBUG, also written to a file, as a deployment would."""
    path = tmp_path / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
