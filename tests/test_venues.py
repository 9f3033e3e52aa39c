"""open_venue: paper unless live is asked for and confirmed; each refusal says what is missing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import base58
import pytest
from nacl.signing import SigningKey

from execution.pacifica import PacificaVenue
from execution.paper import PaperVenue, paper_markets
from swarm.config import Settings, load_settings
from swarm.errors import UsageError
from swarm.store import Store
from swarm.venues import open_venue

SEED = bytes(range(40, 72))
KEY = base58.b58encode(SEED + bytes(SigningKey(SEED).verify_key)).decode()
PUBLIC = base58.b58encode(bytes(SigningKey(SEED).verify_key)).decode()
FAKE_URL = "http://127.0.0.1:9/api/v1"


@pytest.fixture
def settings() -> Settings:
    return load_settings(pacifica_url=FAKE_URL, paper_equity_usd=2_500.0)


def test_paper_is_the_default_and_starts_with_the_configured_equity(settings: Settings) -> None:
    venue = open_venue("paper", settings, confirm_live=False, environ={"SWARM_CONFIRM_LIVE": "yes"})
    assert isinstance(venue, PaperVenue)
    assert venue.statement().equity == Decimal(2_500)


def test_paper_resumes_the_account_the_journal_saved(settings: Settings, tmp_path: Path) -> None:
    account = PaperVenue(paper_markets(), Decimal(7_000))
    account.set_mark("BTC", Decimal(70_000), 1)
    store = Store.open(str(tmp_path / "journal.db"))
    store.save_venue_state((account.name, account.to_dict()), 2)

    venue = open_venue("paper", settings, confirm_live=False, environ={}, journal=store)

    assert isinstance(venue, PaperVenue)
    assert venue.to_dict() == account.to_dict()
    store.close()


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"PACIFICA_PRIVATE_KEY": KEY}, "confirm with --confirm-live or SWARM_CONFIRM_LIVE=yes"),
        (
            {"PACIFICA_PRIVATE_KEY": KEY, "SWARM_CONFIRM_LIVE": "YES"},
            "SWARM_CONFIRM_LIVE is 'YES', it must be",
        ),
        ({"SWARM_CONFIRM_LIVE": "yes"}, "no signing key: set PACIFICA_PRIVATE_KEY or PACIFICA_KEY_FILE"),
        (
            {"SWARM_CONFIRM_LIVE": "yes", "PACIFICA_PRIVATE_KEY": KEY, "PACIFICA_ACCOUNT": "not-a-key"},
            "PACIFICA_ACCOUNT: not a base58 32-byte public key",
        ),
    ],
)
def test_live_is_refused_with_what_is_missing(
    settings: Settings, environ: dict[str, str], missing: str
) -> None:
    with pytest.raises(UsageError, match=missing) as refused:
        open_venue("live", settings, confirm_live=False, environ=environ)
    assert "\n" not in str(refused.value)
    assert KEY not in str(refused.value)


def test_an_unknown_mode_is_refused(settings: Settings) -> None:
    with pytest.raises(UsageError, match="unknown venue mode 'testnet'"):
        open_venue("testnet", settings, confirm_live=True, environ={})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("confirm_live", "environ"), [(True, {}), (False, {"SWARM_CONFIRM_LIVE": "yes"})], ids=["flag", "env"]
)
@pytest.mark.anyio
async def test_live_confirmed_trades_on_pacifica_with_the_key(
    settings: Settings, confirm_live: bool, environ: dict[str, str]
) -> None:
    venue = open_venue(
        "live", settings, confirm_live=confirm_live, environ={"PACIFICA_PRIVATE_KEY": KEY} | environ
    )
    assert isinstance(venue, PacificaVenue)
    assert venue.account_address == PUBLIC
    assert FAKE_URL in repr(venue)
    assert KEY not in repr(venue)
    await venue.aclose()
