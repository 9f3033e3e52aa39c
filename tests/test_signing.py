"""Pacifica signing (exchange-apis.md 1.5): the documented vector, the flat body, agent keys, key loading."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import base58
import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from execution.errors import SigningKeyError
from execution.signing import PacificaSigner, load_signer, signing_message

SEED = bytes(range(32))  # the doc's test key: seed bytes 0..31
SECRET_64 = SEED + bytes(SigningKey(SEED).verify_key)
SDK_PAYLOAD = {
    "symbol": "BTC",
    "reduce_only": False,
    "amount": "0.1",
    "side": "bid",
    "slippage_percent": "0.5",
    "client_order_id": "12345678-1234-1234-1234-123456789abc",
}
DOC_MESSAGE = (
    '{"data":{"amount":"0.1","client_order_id":"12345678-1234-1234-1234-123456789abc","reduce_only":false,'
    '"side":"bid","slippage_percent":"0.5","symbol":"BTC"},"expiry_window":5000,"timestamp":1748970123456,'
    '"type":"create_market_order"}'
)
STAMP, WINDOW = 1748970123456, 5000
OTHER_SEED = bytes(range(32, 64))


def b58(data: bytes) -> str:
    return base58.b58encode(data).decode()


def test_the_signed_message_is_the_documented_string_byte_for_byte() -> None:
    message = signing_message("create_market_order", SDK_PAYLOAD, STAMP, WINDOW)
    assert message == DOC_MESSAGE.encode("ascii")


def test_the_body_is_flat_and_its_signature_verifies_with_pynacl() -> None:
    signer = PacificaSigner(SECRET_64)
    body = signer.sign("create_market_order", SDK_PAYLOAD, STAMP, WINDOW)

    public_key = b58(bytes(SigningKey(SEED).verify_key))
    assert body == {
        "account": public_key,
        "signature": body["signature"],
        "timestamp": STAMP,
        "expiry_window": WINDOW,
        **SDK_PAYLOAD,
    }
    assert "type" not in body
    assert "data" not in body
    assert "agent_wallet" not in body
    signature = base58.b58decode(str(body["signature"]))
    assert len(signature) == 64
    VerifyKey(base58.b58decode(public_key)).verify(DOC_MESSAGE.encode(), signature)


def test_a_32_byte_seed_and_the_64_byte_secret_are_the_same_key() -> None:
    from_seed, from_secret = PacificaSigner(SEED), PacificaSigner(SECRET_64)
    assert from_seed.public_key == from_secret.public_key
    sign = ("create_market_order", SDK_PAYLOAD, STAMP, WINDOW)
    assert from_seed.sign(*sign) == from_secret.sign(*sign)  # Ed25519 is deterministic


def test_keys_sort_at_every_depth_and_lists_keep_their_order() -> None:
    payload = {"z": [{"b": "1", "a": "2"}, "x"], "stop_loss": {"stop_price": "1", "amount": "2"}, "a": None}
    message = json.loads(signing_message("t", payload, 1, 2))
    assert list(message) == ["data", "expiry_window", "timestamp", "type"]
    assert list(message["data"]) == ["a", "stop_loss", "z"]
    assert list(message["data"]["stop_loss"]) == ["amount", "stop_price"]
    assert message["data"]["z"] == [{"a": "2", "b": "1"}, "x"]
    assert list(message["data"]["z"][0]) == ["a", "b"]


def test_the_message_is_ascii_with_escapes_and_compact() -> None:
    message = signing_message("t", {"note": "é ü"}, 1, 2)
    assert message == b'{"data":{"note":"\\u00e9 \\u00fc"},"expiry_window":2,"timestamp":1,"type":"t"}'


def test_floats_are_refused_rather_than_signed_in_their_repr() -> None:
    with pytest.raises(TypeError, match=r"payload\.amount: float"):
        signing_message("t", {"amount": 0.1}, 1, 2)


def test_a_payload_field_may_not_shadow_the_header() -> None:
    with pytest.raises(ValueError, match="collide"):
        PacificaSigner(SEED).sign("t", {"account": "x"}, 1, 2)


def test_an_agent_key_signs_for_the_main_account() -> None:
    main = b58(bytes(SigningKey(OTHER_SEED).verify_key))
    signer = load_signer({"PACIFICA_PRIVATE_KEY": b58(SECRET_64), "PACIFICA_ACCOUNT": main})
    body = signer.sign("create_market_order", SDK_PAYLOAD, STAMP, WINDOW)

    agent = b58(bytes(SigningKey(SEED).verify_key))
    assert (signer.account, signer.agent_wallet) == (main, agent)
    assert (body["account"], body["agent_wallet"]) == (main, agent)
    signature = base58.b58decode(str(body["signature"]))
    # agent_wallet is not part of the signed message; the agent's key signs it, not the main one.
    VerifyKey(base58.b58decode(agent)).verify(DOC_MESSAGE.encode(), signature)
    with pytest.raises(BadSignatureError):
        VerifyKey(base58.b58decode(main)).verify(DOC_MESSAGE.encode(), signature)


def test_an_account_equal_to_the_own_key_is_not_an_agent() -> None:
    own = b58(bytes(SigningKey(SEED).verify_key))
    signer = load_signer({"PACIFICA_PRIVATE_KEY": b58(SEED), "PACIFICA_ACCOUNT": own})
    assert signer.agent_wallet is None
    assert "agent_wallet" not in signer.sign("t", {}, 1, 2)


def test_a_key_file_holds_base58_or_a_solana_cli_json_array(tmp_path: Path) -> None:
    as_text, as_json = tmp_path / "key.txt", tmp_path / "id.json"
    as_text.write_text(b58(SECRET_64) + "\n")
    as_json.write_text(json.dumps(list(SECRET_64)))
    expected = PacificaSigner(SEED).public_key
    for path in (as_text, as_json):
        assert load_signer({"PACIFICA_KEY_FILE": str(path)}).public_key == expected


SECRET_TEXTS = (b58(SECRET_64), b58(SEED), SEED.hex(), SECRET_64.hex())


def _bad_key_cases(tmp_path: Path) -> list[tuple[dict[str, str], str]]:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(json.dumps([*SECRET_64[:10], 300]))
    broken = SECRET_64[:32] + SigningKey(OTHER_SEED).verify_key.encode()
    return [
        ({}, r"^no signing key: set PACIFICA_PRIVATE_KEY or PACIFICA_KEY_FILE$"),
        ({"PACIFICA_PRIVATE_KEY": b58(SECRET_64), "PACIFICA_KEY_FILE": "x"}, r"^set only one of"),
        ({"PACIFICA_PRIVATE_KEY": b58(SECRET_64) + "0OIl"}, r"^PACIFICA_PRIVATE_KEY: not a base58 string$"),
        (
            {"PACIFICA_PRIVATE_KEY": b58(SECRET_64[:40])},
            r"^PACIFICA_PRIVATE_KEY: expected a 64-byte .* got 40",
        ),
        ({"PACIFICA_PRIVATE_KEY": b58(broken)}, r"^PACIFICA_PRIVATE_KEY: the public half .* does not match"),
        ({"PACIFICA_KEY_FILE": str(tmp_path / "missing")}, r"^PACIFICA_KEY_FILE \(.*missing\): cannot read"),
        (
            {"PACIFICA_KEY_FILE": str(bad_json)},
            r"^PACIFICA_KEY_FILE \(.*\): not a JSON array of byte values$",
        ),
        (
            {"PACIFICA_PRIVATE_KEY": b58(SEED), "PACIFICA_ACCOUNT": "nope0"},
            r"^PACIFICA_ACCOUNT: not a base58",
        ),
    ]


def test_a_bad_key_is_one_line_naming_the_variable_never_the_key(tmp_path: Path) -> None:
    for env, message in _bad_key_cases(tmp_path):
        with pytest.raises(SigningKeyError, match=message) as caught:
            load_signer(env)
        shown = f"{caught.value}\n{caught.value!r}\n{caught.getrepr()}"
        assert "\n" not in str(caught.value)
        for secret in SECRET_TEXTS:
            assert secret not in shown, env


def test_the_signer_never_shows_or_pickles_its_key() -> None:
    signer = PacificaSigner(SECRET_64, account=b58(bytes(SigningKey(OTHER_SEED).verify_key)))
    shown = f"{signer!r} {signer} {signer.public_key} {signer.account}"
    for secret in SECRET_TEXTS:
        assert secret not in shown
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)
    with pytest.raises(TypeError, match="cannot be pickled"):
        copy.deepcopy(signer)
