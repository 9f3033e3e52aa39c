"""Anonymized states: relative quantities unchanged, nothing left that names the coin or the date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feeds.anonymize import Anonymizer, anonymize, neutral_name
from feeds.state import MarketState, PriceState
from swarm.members import local
from tests.states import full_state, indicators

# Every leaf of a MarketState, classified. A field added to the schema fails
# test_every_field_is_classified until someone decides how it is anonymized.
SCALED = {
    "price.current",
    "volume.usd_24h",
    "open_interest.current_usd",
    "orderbook.bid_depth_usd",
    "orderbook.ask_depth_usd",
    *(
        f"indicators.{tf}.{name}"
        for tf in ("15m", "1h", "4h", "1d")
        for name in (
            "macd.value",
            "macd.signal",
            "macd.histogram",
            "ema_9",
            "ema_21",
            "ema_50",
            "ema_200",
            "atr_14",
            "closes",
        )
    ),
}
UNCHANGED = {
    "schema_version",
    "source",
    "price.change_1h_pct",
    "price.change_24h_pct",
    "volume.vs_avg_7d",
    "funding.unit",
    "funding.current",
    "funding.avg_8h",
    "funding.avg_24h",
    "open_interest.current_base",
    "open_interest.change_1h_pct",
    "open_interest.change_24h_pct",
    "orderbook.imbalance",
    "orderbook.spread_pct",
    "regime",
    "missing",
    *(
        f"indicators.{tf}.{name}"
        for tf in ("15m", "1h", "4h", "1d")
        for name in ("rsi_14", "rsi_21", "obv_trend")
    ),
}
REPLACED = {"symbol", "timestamp"}


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path -> value of every leaf (a list counts as one leaf)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(leaves(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


BASE = full_state()  # BTC at 114,207.5 on 2025-10-28 07:00 UTC
ANON = Anonymizer.from_first_states([BASE])


def test_every_field_is_classified() -> None:
    assert set(leaves(BASE.model_dump(mode="json"))) == SCALED | UNCHANGED | REPLACED


def test_the_first_price_is_100_and_every_price_field_scales_with_it() -> None:
    out = ANON.state(BASE)
    assert out.price.current == pytest.approx(100.0)
    k = 100.0 / BASE.price.current
    before, after = leaves(BASE.model_dump()), leaves(out.model_dump())
    for path in SCALED:
        want = before[path]
        if isinstance(want, list):
            assert after[path] == pytest.approx([v * k for v in want]), path
        else:
            assert after[path] == pytest.approx(want * k), path
    for path in UNCHANGED:
        assert after[path] == before[path], path


def test_relative_quantities_are_unchanged() -> None:
    out = ANON.state(BASE)
    for tf in ("15m", "1h", "4h", "1d"):
        a, b = BASE.indicators[tf], out.indicators[tf]
        assert a is not None
        assert b is not None
        for before, after in ((a.ema_9, b.ema_9), (a.ema_200, b.ema_200), (a.atr_14, b.atr_14)):
            assert before is not None
            assert after is not None
            assert after / out.price.current == pytest.approx(before / BASE.price.current)
        assert b.closes[-1] / b.closes[0] == pytest.approx(a.closes[-1] / a.closes[0])
        assert b.rsi_14 == a.rsi_14
    assert out.price.change_24h_pct == BASE.price.change_24h_pct
    assert out.funding == BASE.funding
    assert out.regime == BASE.regime


def test_no_trace_of_the_symbol_or_the_real_date() -> None:
    text = ANON.state(BASE).model_dump_json()
    assert "BTC" not in text
    assert not re.search(r"20\d\d-\d\d", text)
    assert '"symbol":"ASSET_A"' in text
    # The origin is that day's UTC midnight, so 07:00 stays 07:00, on day 0.
    assert '"timestamp":"1970-01-01T07:00:00Z"' in text


def test_the_same_base_and_origin_hold_for_the_whole_window() -> None:
    later = full_state(
        timestamp=BASE.timestamp + timedelta(days=2, hours=3),
        price=PriceState(current=125_628.25, change_1h_pct=0.1, change_24h_pct=4.0),
    )
    out = ANON.state(later)
    assert out.price.current == pytest.approx(110.0)  # +10 % since the window's first price
    assert out.timestamp == datetime(1970, 1, 3, 10, 0, tzinfo=UTC)
    assert out.symbol == "ASSET_A"


def test_several_symbols_get_their_own_alias_and_base() -> None:
    eth = full_state("ETH", price=PriceState(current=4000.0, change_1h_pct=None, change_24h_pct=None))
    window = Anonymizer.from_first_states([BASE, eth])
    assert (window.alias("BTC"), window.alias("ETH")) == ("ASSET_A", "ASSET_B")
    assert window.real_symbol("ASSET_B") == "ETH"
    assert window.state(eth).price.current == pytest.approx(100.0)
    assert window.rebase_price("ETH", 3000.0) == pytest.approx(75.0)
    assert window.relative_ms(window.origin_ms + 5_000) == 5_000
    with pytest.raises(KeyError):
        window.state(full_state("SOL"))


def test_a_state_before_the_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="before the window origin"):
        anonymize(BASE, alias="ASSET_A", origin_ms=int(BASE.timestamp.timestamp() * 1000) + 1, base_price=1.0)
    with pytest.raises(ValueError, match="positive"):
        anonymize(BASE, alias="ASSET_A", origin_ms=0, base_price=0.0)


def test_missing_parts_stay_missing() -> None:
    bare = full_state(
        volume=None, open_interest=None, orderbook=None, missing=["volume", "open_interest", "orderbook"]
    )
    bare = bare.model_copy(update={"indicators": {**bare.indicators, "1d": None}})
    out = ANON.state(bare)
    assert (out.volume, out.open_interest, out.orderbook, out.indicators["1d"]) == (None, None, None, None)
    assert out.missing == bare.missing


@pytest.mark.parametrize("strategy", [local.trend, local.meanrev, local.funding])
def test_local_members_decide_the_same_on_the_anonymized_state(strategy: local.Strategy) -> None:
    oversold = {tf: indicators(tf, rsi_14=20.0) for tf in ("15m", "1h", "4h", "1d")}
    for state in (BASE, full_state(indicators=oversold)):
        real, anon = strategy(state), strategy(ANON.state(state))
        assert anon.action == real.action
        assert anon.confidence == pytest.approx(real.confidence)
        assert anon.stop_loss == pytest.approx(real.stop_loss)


def test_neutral_names_never_run_out() -> None:
    assert [neutral_name(i) for i in (0, 1, 25, 26, 27, 701, 702)] == [
        "ASSET_A",
        "ASSET_B",
        "ASSET_Z",
        "ASSET_AA",
        "ASSET_AB",
        "ASSET_ZZ",
        "ASSET_AAA",
    ]


def test_the_anonymized_state_is_still_a_valid_market_state() -> None:
    out = ANON.state(BASE)
    assert MarketState.model_validate_json(out.model_dump_json()) == out
