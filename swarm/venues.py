"""Which venue a run trades on: paper by default; real orders only when asked for twice.

    open_venue("paper", settings, confirm_live=False, environ=os.environ, journal=store)
    open_venue("live", settings, confirm_live=args.confirm_live, environ=os.environ)

Live trading needs the mode "live" (the `--live` flag) AND a confirmation: `--confirm-live` or
SWARM_CONFIRM_LIVE=yes. Anything less is a one-line UsageError naming what is missing, before
the signing key is even read. The key comes from PACIFICA_PRIVATE_KEY or PACIFICA_KEY_FILE
(and PACIFICA_ACCOUNT for an agent key), through execution.signing, which never shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal, Protocol

from execution.venue import Venue
from swarm.config import Settings
from swarm.errors import UsageError

CONFIRM_ENV: Final = "SWARM_CONFIRM_LIVE"
PAPER_STATE: Final = "paper"  # the venue_state row of the paper account (PaperVenue.name)
VenueMode = Literal["paper", "live"]


class SavedVenues(Protocol):
    """Where a paper account is kept between runs (the store's venue_state)."""

    def venue_state(self, name: str) -> dict[str, Any] | None: ...


def open_venue(
    mode: VenueMode,
    settings: Settings,
    *,
    confirm_live: bool,
    environ: Mapping[str, str],
    journal: SavedVenues | None = None,
) -> Venue:
    """The paper venue (resumed from the journal, else new with settings.paper_equity_usd) or Pacifica."""
    if mode == "paper":
        return _paper(settings, journal)
    if mode != "live":
        raise UsageError(f"unknown venue mode {mode!r}: use paper (the default) or live")
    _check_confirmed(confirm_live, environ)
    from execution.errors import SigningKeyError
    from execution.pacifica import PacificaVenue
    from execution.signing import load_signer

    try:
        signer = load_signer(environ)
    except SigningKeyError as exc:  # its message names the variable, never the key
        raise UsageError(f"--live: {exc}") from None
    return PacificaVenue(settings.pacifica_url, signer, timeout_s=settings.http_timeout_s)


def _check_confirmed(confirm_live: bool, environ: Mapping[str, str]) -> None:
    if confirm_live:
        return
    value = environ.get(CONFIRM_ENV)
    if value is None:
        raise UsageError(f"--live places real orders: confirm with --confirm-live or {CONFIRM_ENV}=yes")
    if value != "yes":
        raise UsageError(f"--live places real orders: {CONFIRM_ENV} is {value!r}, it must be exactly 'yes'")


def _paper(settings: Settings, journal: SavedVenues | None) -> Venue:
    from execution.paper import PaperVenue, paper_markets

    saved = journal.venue_state(PAPER_STATE) if journal is not None else None
    if saved is not None:
        return PaperVenue.from_dict(saved)
    return PaperVenue(paper_markets(), Decimal(str(settings.paper_equity_usd)))
