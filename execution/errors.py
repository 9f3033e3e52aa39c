"""Errors raised by the execution venues, grouped by remedy.

VenueError                      base; `str(err)` is one line and never holds key material or a signature
├── SigningKeyError             the signing key or account setting is missing or malformed: fix the config
├── AuthError                   the exchange refused the signature ("Verification failed") or the agent
│                               wallet: stop trading, a human looks
├── OrderRejected               the exchange (or a check before sending) refused this order: skip it;
│   │                           `.code` is the exchange's code, `.status` the HTTP status (None if local)
│   └── DuplicateClientOrderId  an order with this client_order_id exists already (the venue treats it
│                               as "already placed" and looks the order up)
├── VenueResponseError          the answer does not have the documented shape: a human looks
├── TransientVenueError         429, 5xx, timeout, connection error, retries used up: try again later;
│                               `.retry_after_s` is the server's hint, `.maybe_sent` whether the request
│                               may have reached the exchange
└── AmbiguousOrderState         an order request may have reached the exchange and no lookup could say
                                whether it did: reconcile with the venue before acting again
"""

from __future__ import annotations


class VenueError(Exception):
    """Base of every error raised by `execution` venues."""


class SigningKeyError(VenueError):
    """The signing key or account setting is missing or malformed (the message names the variable)."""


class AuthError(VenueError):
    """The exchange refused the signature or the agent wallet."""


class OrderRejected(VenueError):
    """The exchange refused the order, with its own code and message."""

    def __init__(self, message: str, *, code: int | str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class DuplicateClientOrderId(OrderRejected):
    """The exchange already holds an order with this client_order_id."""


class VenueResponseError(VenueError):
    """The response does not have the documented shape."""


class TransientVenueError(VenueError):
    """A failure worth retrying later: 429, 5xx, timeout, connection error."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.maybe_sent = maybe_sent


class AmbiguousOrderState(VenueError):
    """An order may or may not be on the exchange; reconcile before acting again."""

    def __init__(self, message: str, *, client_order_id: str) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id
