"""parse_decision: real Alpha Arena answers, every accepted shape, every failure, and properties."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import Action, TradeDecision
from consensus.parse import ParseFailure, decision_json_schema, parse_decision

FIXTURE = Path(__file__).parent / "fixtures" / "alpha_arena" / "responses.json"
# nof1's signal words, from the Alpha Arena prompt.
ALPHA_ARENA_SIGNALS = {
    "buy_to_enter": Action.LONG,
    "sell_to_enter": Action.SHORT,
    "hold": Action.HOLD,
    "close_position": Action.CLOSE,
}


@cache
def _records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
    return records


def _answer_fields(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The structured decision per coin the record holds, read without the parser under test."""
    if record["llm_response"] is not None:
        return dict(record["llm_response"])
    raw: str = record["raw_text"]
    # The raw answer's JSON is the list after "output the JSON."; each item is {COIN: {trade_signal_args}}.
    tail = json.loads(raw[raw.rindex("JSON.[") + len("JSON.") :])
    return {coin: item[coin]["trade_signal_args"] for item in tail for coin in item}


def _texts(record: dict[str, Any]) -> dict[str, str]:
    """The answer as text (nof1 stored it parsed), and as it reads after the model's own reasoning."""
    if record["raw_text"] is not None:
        return {"raw": record["raw_text"]}
    answer = json.dumps(record["llm_response"], indent=2)
    texts = {"as_sent": answer}
    if record["cot_trace"]:
        texts["after_prose"] = f"{record['cot_trace']}\n\n```json\n{answer}\n```\nDone."
        texts["after_think"] = f"<think>{record['cot_trace']}</think>\n{answer}"
    return texts


def js(value: object) -> str:
    return json.dumps(value)


LONG_60 = {"action": "LONG", "confidence": 60}


def _decision(text: str, symbol: str) -> TradeDecision:
    result = parse_decision(text, symbol)
    assert isinstance(result, TradeDecision), result
    return result


def _failure(text: str, symbol: str = "BTC") -> ParseFailure:
    result = parse_decision(text, symbol)
    assert isinstance(result, ParseFailure), result
    assert "\n" not in result.detail
    return result


# --- the 100 real answers --------------------------------------------------------------------


def test_fixture_holds_all_hundred_records_and_the_raw_one() -> None:
    records = _records()
    assert len(records) == 100
    assert len({r["id"] for r in records}) == 100
    assert sum(r["raw_text"] is not None for r in records) == 1


@pytest.mark.parametrize(
    "index", [pytest.param(i, id=f"{i}-{r['model_id']}") for i, r in enumerate(_records())]
)
def test_every_real_answer_gives_every_coin_its_decision(index: int) -> None:
    record = _records()[index]
    fields = _answer_fields(record)
    assert list(fields) == record["coins"]
    for variant, text in _texts(record).items():
        for coin, expected in fields.items():
            decision = _decision(text, coin)
            assert decision.action == ALPHA_ARENA_SIGNALS[expected["signal"]], (variant, coin)
            assert decision.confidence == pytest.approx(expected["confidence"] * 100), (variant, coin)
            assert decision.reasoning == expected.get("justification", "")
            # Alpha Arena exits are prices and no answer states its entry: nothing to convert.
            assert (decision.take_profit, decision.stop_loss) == ((), None)


def test_real_answer_has_no_decision_for_a_coin_it_does_not_trade() -> None:
    qwen = next(r for r in _records() if r["model_id"] == "qwen3-max")
    failure = _failure(json.dumps(qwen["llm_response"]), "ETH")
    assert failure.reason == "invalid"
    assert failure.detail.startswith("no decision for ETH")


def test_real_draft_in_reasoning_is_not_the_answer() -> None:
    # gpt-5 drafted its answer in its chain of thought; inside <think> the draft must not count.
    record = next(r for r in _records() if r["model_id"] == "gpt-5" and '"ETH": {' in (r["cot_trace"] or ""))
    assert isinstance(parse_decision(record["cot_trace"], "ETH"), TradeDecision)
    failure = _failure(f"<think>{record['cot_trace']}</think> I will hold.", "ETH")
    assert failure.reason == "unparseable"
    assert failure.detail == "no JSON found outside <think> reasoning"


# --- accepted shapes -------------------------------------------------------------------------

OURS = js(
    {
        "action": "LONG", "confidence": 72, "reasoning": "breakout", "position_size_pct": 5,
        "take_profit": [0.02, 0.05], "stop_loss": 0.015,
    }
)  # fmt: skip
OURS_DECISION = TradeDecision(
    action=Action.LONG,
    confidence=72,
    reasoning="breakout",
    position_size_pct=5,
    take_profit=(0.02, 0.05),
    stop_loss=0.015,
)


@pytest.mark.parametrize(
    "text",
    [
        OURS,
        f"```json\n{OURS}\n```",
        f"```\n{OURS}\n```",
        f"Here is my decision:\n{OURS}\nLet me know if you need more.",
        f"<think>Maybe {{\"action\": \"SHORT\", \"confidence\": 90}}? No.</think>\n{OURS}",
        f"<THINKING>weighing it up</THINKING>```json\n{OURS}\n```",
        f"the funding is negative so </think>{OURS}",
        f"Draft: {OURS.replace('LONG', 'SHORT')}\nFinal answer: {OURS}",
        f"Note [1]: see {{the chart}}. {OURS}",
        '{"decision": ' + OURS + "}",
        '{"BTC": ' + OURS + "}",
        '{"trade_signal_args": ' + OURS + "}",
        "[" + OURS + "]",
        OURS.replace('"', "'"),
        OURS.replace("0.05]", "0.05,]").replace("0.015}", "0.015,}"),
    ],
    ids=[
        "bare", "fenced_json", "fenced", "prose", "after_think", "after_thinking_upper", "lone_close_tag",
        "last_draft_wins", "prose_brackets", "nested_decision", "keyed", "trade_signal_args", "list",
        "single_quoted", "trailing_commas",
    ],
)  # fmt: skip
def test_accepted_shapes(text: str) -> None:
    assert _decision(text, "BTC") == OURS_DECISION


@pytest.mark.parametrize("symbol", ["BTC", "btc", "BTC-PERP", "BTCUSDT", "BTC/USDT:USDT", "BTC_USDC"])
def test_symbol_matching_ignores_case_and_quote_suffixes(symbol: str) -> None:
    answer = js({"ETH": {"action": "SHORT", "confidence": 40}, "btc-perp": LONG_60})
    assert _decision(answer, symbol).action == Action.LONG


def test_several_coins_pick_this_symbol_from_any_shape() -> None:
    eth, sol = {"action": "short", "confidence": 30}, {"action": "buy", "confidence": 70}
    as_list = js([{"coin": "ETH", **eth}, {"coin": "SOL", **sol}])
    keyed = js({"decisions": {"ETH": eth, "SOL": sol}})
    blocks = f"```json\n{js({'ETH': eth})}\n```\nand\n```json\n{js({'SOL': sol})}\n```"
    for text in (as_list, keyed, blocks):
        assert _decision(text, "SOL").action == Action.LONG
        assert _decision(text, "ETH").action == Action.SHORT
        failure = _failure(text, "BTC")
        assert (failure.reason, failure.detail) == ("invalid", "no decision for BTC (answer covers ETH, SOL)")


def test_an_echoed_position_after_the_answer_does_not_replace_it() -> None:
    echo = "{'symbol': 'ETH', 'quantity': 5.74, 'entry_price': 4189.12, 'confidence': 0.65}"
    text = f"{js({'ETH': {'signal': 'hold', 'confidence': 0.65}})}\nMy position was {echo}."
    assert _decision(text, "ETH").action == Action.HOLD


def test_labelled_decision_wins_over_an_unlabelled_one() -> None:
    text = '{"action": "HOLD", "confidence": 50} {"symbol": "BTC", "action": "LONG", "confidence": 60}'
    assert _decision(text, "BTC").action == Action.LONG
    assert _decision(text, "ETH").action == Action.HOLD


@pytest.mark.parametrize(
    ("word", "action"),
    [
        ("buy", Action.LONG), ("LONG", Action.LONG), ("Bullish", Action.LONG),
        ("buy_to_enter", Action.LONG), ("sell", Action.SHORT), ("short", Action.SHORT),
        ("BEARISH", Action.SHORT), ("sell_to_enter", Action.SHORT), ("hold", Action.HOLD),
        ("wait", Action.HOLD), ("Neutral", Action.HOLD), ("no_trade", Action.HOLD),
        ("no trade", Action.HOLD), ("exit", Action.CLOSE), ("close", Action.CLOSE),
        ("close_position", Action.CLOSE),
    ],
)  # fmt: skip
def test_action_synonyms(word: str, action: Action) -> None:
    assert _decision(f'{{"action": "{word}", "confidence": 50}}', "BTC").action == action
    assert _decision(f'{{"signal": "{word}", "confidence": 0.5}}', "BTC").action == action


def test_alpha_arena_decision_keeps_what_it_can_and_invents_nothing() -> None:
    text = json.dumps(
        {
            "ETH": {
                "trade_signal_args": {
                    "coin": "ETH", "signal": "buy_to_enter", "quantity": 1.5, "leverage": 10, "risk_usd": 150,
                    "profit_target": 4300, "stop_loss": 3900, "confidence": 0.7,
                    "invalidation_condition": "4h close below EMA50", "justification": "trend",
                }
            }
        }
    )  # fmt: skip
    decision = _decision(text, "ETH")
    assert (decision.action, decision.confidence, decision.reasoning) == (Action.LONG, 70, "trend")
    # No entry price in the answer: the absolute exits cannot become fractions.
    assert (decision.take_profit, decision.stop_loss, decision.position_size_pct) == ((), None, 0)


@pytest.mark.parametrize(
    ("signal", "target", "stop", "take_profit", "stop_loss"),
    [("buy_to_enter", 4200, 3900, 0.05, 0.025), ("sell_to_enter", 3800, 4100, 0.05, 0.025)],
)
def test_alpha_arena_exits_become_fractions_of_a_stated_entry(
    signal: str, target: float, stop: float, take_profit: float, stop_loss: float
) -> None:
    text = json.dumps(
        {"signal": signal, "entry_price": 4000, "profit_target": target, "stop_loss": stop, "confidence": 0.6}
    )
    decision = _decision(text, "ETH")
    assert decision.take_profit == pytest.approx((take_profit,))
    assert decision.stop_loss == pytest.approx(stop_loss)


def test_alpha_arena_hold_exits_are_dropped_as_their_side_is_unknown() -> None:
    text = js(
        {"signal": "hold", "current_price": 4000, "profit_target": 4200, "stop_loss": 3900, "confidence": 0.6}
    )
    decision = _decision(text, "ETH")
    assert (decision.take_profit, decision.stop_loss) == ((), None)


def test_alpha_arena_signed_quantity_is_a_short_not_an_error() -> None:
    # Real: gemini-2.5-pro holds shorts as quantity -3.03 (BNB) and -11294 (DOGE).
    text = '{"coin": "BNB", "signal": "hold", "quantity": -3.03, "confidence": 0.65}'
    assert _decision(text, "BNB").action == Action.HOLD


@pytest.mark.parametrize(
    ("answer", "confidence"),
    [
        ('{"action": "LONG", "confidence": 80}', 80),
        ('{"action": "LONG", "confidence": 0.8}', 80),  # all confidences are fractions
        ('{"action": "LONG", "confidence": "0.8"}', 80),
        ('{"action": "LONG", "confidence": "75%"}', 75),
        ('{"action": "LONG", "confidence": "0.5%"}', 0.5),  # written as percent: never scaled
        ('{"action": "LONG", "confidence": 1}', 1),  # 1 alone: the cautious reading, 1 of 100
        ('{"action": "LONG", "confidence": 0}', 0),
        ('{"signal": "LONG", "confidence": 1}', 100),  # Alpha Arena vocabulary speaks in 0-1
        # Scale is judged over the whole answer: another coin's 0.4 shows it speaks in fractions.
        (js({"BTC": {**LONG_60, "confidence": 1}, "ETH": {**LONG_60, "confidence": 0.4}}), 100),
        (js({"BTC": {**LONG_60, "confidence": 1}, "ETH": {**LONG_60, "confidence": 40}}), 1),
        (js({"BTC": {**LONG_60, "confidence": 0.5}, "ETH": {**LONG_60, "confidence": 40}}), 0.5),
    ],
)  # fmt: skip
def test_confidence_scale(answer: str, confidence: float) -> None:
    assert _decision(answer, "BTC").confidence == pytest.approx(confidence)


@pytest.mark.parametrize(
    ("fields", "take_profit", "stop_loss"),
    [
        ('"take_profit": 0.03, "stop_loss": 0.01', (0.03,), 0.01),
        ('"take_profit": [2, 5], "stop_loss": 2', (0.02, 0.05), 0.02),  # values >= 1 are percent
        ('"take_profit": [0.5, 1.5], "stop_loss": 1', (0.005, 0.015), 0.01),  # one unit per field
        ('"take_profit": ["2%", "4.5%"], "stop_loss": "1.5%"', (0.02, 0.045), 0.015),
        ('"take_profit": "0.04", "stop_loss": "0.02"', (0.04,), 0.02),
        ('"take_profit": 0, "stop_loss": 0', (), None),  # 0 is how models write "none"
        ('"take_profit": [], "stop_loss": null', (), None),
        ('"tp": 0.03, "sl": 0.01', (0.03,), 0.01),
    ],
)
def test_exit_units(fields: str, take_profit: tuple[float, ...], stop_loss: float | None) -> None:
    decision = _decision(f'{{"action": "LONG", "confidence": 60, {fields}}}', "BTC")
    assert decision.take_profit == pytest.approx(take_profit)
    assert decision.stop_loss == (None if stop_loss is None else pytest.approx(stop_loss))


def test_sizes_beyond_the_risk_limits_are_kept_as_sent() -> None:
    text = '{"action": "LONG", "confidence": 60, "position_size_pct": 300, "leverage": 125}'
    assert _decision(text, "BTC").position_size_pct == 300
    assert _decision(js({**LONG_60, "size_pct": "2.5%"}), "BTC").position_size_pct == 2.5


@pytest.mark.parametrize("key", ["reasoning", "justification", "rationale", "Reasoning"])
def test_reasoning_aliases(key: str) -> None:
    assert _decision(f'{{"action": "HOLD", "confidence": 50, "{key}": "chop"}}', "BTC").reasoning == "chop"


def test_raw_newlines_inside_strings_and_python_literals() -> None:
    text = "{'action': 'LONG', 'confidence': 60, 'reasoning': \"line one\nit's line two\", 'stop_loss': None}"
    decision = _decision(text, "BTC")
    assert (decision.reasoning, decision.stop_loss) == ("line one\nit's line two", None)


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "no JSON found"),
        ("I would go long BTC with 70% confidence.", "no JSON found"),
        ('{"action": "LONG", "confidence": 70', "no JSON found"),  # truncated
        ('<think>{"action": "LONG", "confidence": 70}', "no JSON found outside <think> reasoning"),
    ],
)
def test_unparseable(text: str, detail: str) -> None:
    assert _failure(text) == ParseFailure(reason="unparseable", detail=detail)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (js({"note": "nothing to do"}), "JSON holds no trade decision"),
        (js({"confidence": 70}), "missing action"),
        (js({**LONG_60, "action": "moon"}), "unknown action 'moon'"),
        (js({**LONG_60, "action": 3}), "action must be a word, got 3"),
        (js({"action": "LONG"}), "missing confidence"),
        (js({**LONG_60, "confidence": 150}), "confidence: Input should be less than or equal to 100"),
        (js({**LONG_60, "confidence": -5}), "confidence: Input should be greater than or equal to 0"),
        ('{"action": "LONG", "confidence": NaN}', "confidence is not a finite number"),
        ('{"action": "LONG", "confidence": Infinity}', "confidence is not a finite number"),
        ('{"action": "LONG", "confidence": 1e999}', "confidence is not a finite number"),
        (js({**LONG_60, "confidence": "high"}), "confidence is not a number: 'high'"),
        (js({**LONG_60, "confidence": True}), "confidence must be a number, got True"),
        (js({**LONG_60, "position_size_pct": -5}), "position_size_pct: Input should be greater than"),
        (js({**LONG_60, "risk_usd": -150}), "risk_usd is negative: -150"),
        (js({**LONG_60, "leverage": "lots"}), "leverage is not a number: 'lots'"),
        (js({**LONG_60, "take_profit": [0.05, 0.02]}), "take_profit: Value error, take_profit"),
        (js({**LONG_60, "take_profit": [0.02, None]}), "take_profit must be a number, got None"),
        (js({**LONG_60, "take_profit": 118000}), "take_profit 118000 is 100 % or more away"),
        (js({**LONG_60, "stop_loss": [0.01, 0.02]}), "stop_loss must be one number"),
        (js({**LONG_60, "stop_loss": -0.01}), "stop_loss: Input should be greater than 0"),
        (js({**LONG_60, "reasoning": 42}), "reasoning must be text, got 42"),
        (
            js({"signal": "buy_to_enter", "confidence": 0.6, "entry_price": 100, "profit_target": 90}),
            "profit_target 90 is on the wrong side of entry 100 for LONG",
        ),
        ('{"signal": "hold", "confidence": 0.6, "stop_loss": NaN}', "stop_loss is not a finite number"),
    ],
)  # fmt: skip
def test_invalid(text: str, detail: str) -> None:
    failure = _failure(text)
    assert failure.reason == "invalid"
    assert failure.detail.startswith(detail), failure.detail


def test_invalid_last_answer_is_reported_not_an_earlier_draft() -> None:
    failure = _failure(f"Draft {js(LONG_60)}. Final: {js({**LONG_60, 'confidence': 600})}")
    assert failure.detail.startswith("confidence: Input should be less than or equal to 100")


def test_failure_detail_is_one_short_line() -> None:
    failure = _failure(js({f"COIN{i}\nLINE": LONG_60 for i in range(100)}))
    assert len(failure.detail) <= 200
    assert failure.detail.startswith("no decision for BTC")


# --- schema ----------------------------------------------------------------------------------


def test_schema_names_exactly_the_decision_fields() -> None:
    schema = decision_json_schema()
    assert set(schema["properties"]) == set(TradeDecision.model_fields)
    assert schema["properties"]["action"]["enum"] == ["LONG", "SHORT", "HOLD", "CLOSE"]
    assert set(schema["required"]) == set(TradeDecision.model_fields)
    schema["properties"].clear()  # a caller's edit must not leak into the next call
    assert decision_json_schema()["properties"]


def test_an_answer_in_the_schema_parses_to_itself() -> None:
    assert _decision(OURS_DECISION.model_dump_json(), "BTC") == OURS_DECISION


# --- properties ------------------------------------------------------------------------------

JSONISH = st.text(alphabet=st.sampled_from(list("{}[]\"',:0123456789.-+eE \n\tactionfsuelrTFN<>/think`%")))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), JSONISH), symbol=st.text(max_size=12))
def test_parse_never_raises(text: str, symbol: str) -> None:
    result = parse_decision(text, symbol)
    assert isinstance(result, TradeDecision | ParseFailure)
    if isinstance(result, ParseFailure):
        assert not result.detail.startswith("internal parser error"), result.detail


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    ["action", "signal", "confidence", "take_profit", "stop_loss", "position_size_pct", "reasoning",
     "profit_target", "entry_price", "quantity", "risk_usd", "leverage", "coin", "decision"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(FIELD_NAMES, JSON_VALUES | st.sampled_from(["LONG", "hold", "5%", "0.5"])))
def test_decision_like_objects_never_raise(fields: dict[str, Any]) -> None:
    result = parse_decision(json.dumps(fields), "BTC")
    if isinstance(result, ParseFailure):
        assert not result.detail.startswith("internal parser error"), result.detail


# Prose: text without JSON's brackets and quotes or tag markers, so it cannot reshape the JSON it wraps.
PROSE = st.text(st.characters(exclude_characters="{}[]'\"`<>\\"), max_size=40)
FRACTION = st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True)
# Confidences in (0, 1) are read as fractions by design (see consensus._fields): not round-trippable.
DECISIONS = st.builds(
    TradeDecision,
    action=st.sampled_from(Action),
    confidence=st.just(0.0) | st.floats(min_value=1, max_value=100),
    reasoning=st.text(max_size=40),
    position_size_pct=st.floats(min_value=0, max_value=1e6),
    take_profit=st.lists(FRACTION, max_size=4).map(lambda v: tuple(sorted(v))),
    stop_loss=st.none() | FRACTION,
)
WRAPPERS = st.sampled_from(["{}", "```json\n{}\n```", "```\n{}\n```", "<think>hmm</think>{}"])


@settings(max_examples=200, deadline=None)
@given(decision=DECISIONS, before=PROSE, after=PROSE, wrapper=WRAPPERS)
def test_dumped_decision_wrapped_in_prose_parses_back_equal(
    decision: TradeDecision, before: str, after: str, wrapper: str
) -> None:
    text = before + "\n" + wrapper.replace("{}", decision.model_dump_json()) + "\n" + after
    parsed = _decision(text, "BTC")
    assert parsed == decision
    assert all(math.isfinite(v) for v in parsed.take_profit)
