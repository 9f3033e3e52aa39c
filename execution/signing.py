"""Pacifica request signing (docs/exchange-apis.md section 1.5) and loading of the signing key.

The message is `{"timestamp", "expiry_window", "type", "data": payload}` with every key sorted
recursively, serialised compactly (`separators=(",", ":")`, ASCII escapes) and signed with plain
Ed25519. The request body is flat: account, optional agent_wallet, signature, timestamp,
expiry_window and the payload fields; `type` is implied by the endpoint and not sent.

The key lives only inside `PacificaSigner`: no repr, str, pickle, log line or error shows it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import base58
from nacl.signing import SigningKey

from execution.errors import SigningKeyError

ENV_PRIVATE_KEY: Final = "PACIFICA_PRIVATE_KEY"
ENV_KEY_FILE: Final = "PACIFICA_KEY_FILE"
ENV_ACCOUNT: Final = "PACIFICA_ACCOUNT"

# Fields of the flat body that are not payload; a payload using one would be ambiguous.
_HEADER_FIELDS: Final = frozenset(
    {"account", "agent_wallet", "signature", "timestamp", "expiry_window", "type"}
)


def signing_message(
    op_type: str, payload: Mapping[str, object], timestamp_ms: int, expiry_window_ms: int
) -> bytes:
    """The exact bytes Pacifica verifies for an operation (section 1.5, steps 1-4)."""
    _check_wire_values(payload, "payload")
    message = {"timestamp": timestamp_ms, "expiry_window": expiry_window_ms, "type": op_type, "data": payload}
    return json.dumps(_sorted(message), separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def _sorted(value: object) -> object:
    """Keys of every dict sorted, at every depth; lists keep their order."""
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def _check_wire_values(value: object, where: str) -> None:
    # A float would be signed in its repr (0.1 -> "0.1", 1e-05 -> "1e-05"): Pacifica wants decimal
    # strings, so refuse floats here rather than sign something the exchange parses differently.
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            _check_wire_values(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_wire_values(item, f"{where}[{i}]")
    elif not (value is None or isinstance(value, str | bool | int)):
        raise TypeError(f"{where}: {type(value).__name__} is not sent; use a decimal string")


class PacificaSigner:
    """Signs Pacifica operations with a Solana Ed25519 key held as a secret.

    With `account` (an agent key), the body names the main account and carries
    `agent_wallet` = this key's public key; otherwise the key's own public key is the account.
    """

    __slots__ = ("_account", "_key", "_public_key")

    def __init__(self, secret: bytes, *, account: str | None = None, source: str = "secret") -> None:
        """`secret` is a 32-byte Ed25519 seed or a 64-byte Solana secret (seed + public key).

        `source` names where the secret came from in errors (an environment variable).
        """
        self._key = _signing_key(secret, source)
        self._public_key = base58.b58encode(bytes(self._key.verify_key)).decode("ascii")
        if account is not None:
            _check_public_key(account, "account")
        self._account = account if account != self._public_key else None

    @property
    def public_key(self) -> str:
        """Base58 public key of the signing key (the agent wallet when signing for another account)."""
        return self._public_key

    @property
    def account(self) -> str:
        """The account the orders are for: the main account of an agent key, else the key's own."""
        return self._account or self._public_key

    @property
    def agent_wallet(self) -> str | None:
        return self._public_key if self._account else None

    def sign(
        self, op_type: str, payload: Mapping[str, object], timestamp_ms: int, expiry_window_ms: int
    ) -> dict[str, object]:
        """The flat, signed request body for operation `op_type` (section 1.5, steps 5-7)."""
        clash = _HEADER_FIELDS & payload.keys()
        if clash:
            raise ValueError(f"payload fields {sorted(clash)} collide with the signed header")
        message = signing_message(op_type, payload, timestamp_ms, expiry_window_ms)
        signature = base58.b58encode(self._key.sign(message).signature).decode("ascii")
        header: dict[str, object] = {"account": self.account}
        if self._account:
            header["agent_wallet"] = self._public_key
        header |= {"signature": signature, "timestamp": timestamp_ms, "expiry_window": expiry_window_ms}
        return {**header, **payload}

    def __repr__(self) -> str:
        agent = f", agent_wallet={self._public_key!r}" if self._account else ""
        return f"PacificaSigner(account={self.account!r}{agent})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would write the key wherever the pickle goes (a cache, a queue, a database).
        raise TypeError("PacificaSigner holds a secret key and cannot be pickled")


def load_signer(env: Mapping[str, str] = os.environ) -> PacificaSigner:
    """A signer from PACIFICA_PRIVATE_KEY or PACIFICA_KEY_FILE, and PACIFICA_ACCOUNT for an agent key.

    PACIFICA_PRIVATE_KEY is the base58 64-byte Solana secret (or a 32-byte seed); the key file
    holds that string or a Solana CLI JSON array of 64 (or 32) integers. Errors are one line that
    names the variable and never quote the key.
    """
    text = env.get(ENV_PRIVATE_KEY, "").strip()
    path = env.get(ENV_KEY_FILE, "").strip()
    if text and path:
        raise SigningKeyError(f"set only one of {ENV_PRIVATE_KEY} and {ENV_KEY_FILE}")
    if path:
        secret = _read_key_file(path)
    elif text:
        secret = _decode_base58(text, ENV_PRIVATE_KEY)
    else:
        raise SigningKeyError(f"no signing key: set {ENV_PRIVATE_KEY} or {ENV_KEY_FILE}")
    account = env.get(ENV_ACCOUNT, "").strip() or None
    if account is not None:
        _check_public_key(account, ENV_ACCOUNT)
    return PacificaSigner(secret, account=account, source=ENV_KEY_FILE if path else ENV_PRIVATE_KEY)


def _read_key_file(path: str) -> bytes:
    where = f"{ENV_KEY_FILE} ({path})"
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        # The OS error names the file and the reason, never its contents.
        raise SigningKeyError(f"{where}: cannot read the key file: {type(exc).__name__}") from None
    if text.startswith("["):
        return _decode_json_array(text, where)
    return _decode_base58(text, where)


def _decode_json_array(text: str, where: str) -> bytes:
    # No exception is chained from here on: a JSON or value error would quote the key material.
    numbers: object = None
    with contextlib.suppress(ValueError):
        numbers = json.loads(text)
    if not (
        isinstance(numbers, list)
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 255 for n in numbers)
    ):
        raise SigningKeyError(f"{where}: not a JSON array of byte values")
    return bytes(numbers)


def _decode_base58(text: str, where: str) -> bytes:
    secret: bytes | None = None
    with contextlib.suppress(ValueError):  # its message would quote the offending character
        secret = base58.b58decode(text)
    if secret is None:
        raise SigningKeyError(f"{where}: not a base58 string")
    return secret


def _signing_key(secret: bytes, where: str) -> SigningKey:
    """The Ed25519 key of a 32-byte seed or a 64-byte Solana secret whose halves must agree."""
    if len(secret) not in (32, 64):
        raise SigningKeyError(
            f"{where}: expected a 64-byte secret key or a 32-byte seed, got {len(secret)} bytes"
        )
    key = SigningKey(secret[:32])
    if len(secret) == 64 and bytes(key.verify_key) != secret[32:]:
        raise SigningKeyError(f"{where}: the public half of the 64-byte key does not match its seed")
    return key


def _check_public_key(value: str, where: str) -> None:
    decoded: bytes | None = None
    with contextlib.suppress(ValueError):
        decoded = base58.b58decode(value)
    if decoded is None or len(decoded) != 32:
        raise SigningKeyError(f"{where}: not a base58 32-byte public key")


__all__ = [
    "ENV_ACCOUNT",
    "ENV_KEY_FILE",
    "ENV_PRIVATE_KEY",
    "PacificaSigner",
    "load_signer",
    "signing_message",
]
