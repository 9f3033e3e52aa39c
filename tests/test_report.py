"""The HTML report: one self-contained document, its charts, the summary numbers, escaping, cutoff marks.

The run (15-minute steps from 2026-01-01 00:00 UTC, 10,000 USD):

    swarm           10,000  10,500  10,200  11,000   -> +10.00 %, max DD 300/10,500 = 2.86 % (00:15 -> 00:30)
    buy-and-hold    closes 100, 104, 98, 106, fee 0.04 % -> 9,996 ... 10,596: +5.96 %
    always flat     10,000 x 4                        -> +0.00 %, no Sharpe
    trades          BTC LONG +498.00 (fees 2.00), ETH SHORT -300.00 (fees 1.50, funding 0.50)
                    -> 2 trades, win rate 50.00 %, profit factor 498/300 = 1.66, fees 3.50
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from consensus.decision import Abstain, Action, Ballot, TradeDecision
from consensus.leaderboard import LeaderboardRow
from consensus.vote import vote
from swarm.baselines import always_flat, buy_and_hold
from swarm.cutoffs import CutoffFlag
from swarm.metrics import summarize
from swarm.report import (
    EquityCurve,
    MemberReport,
    ReportData,
    RunMeta,
    RunResult,
    TradeRow,
    WeightSeries,
    render_report,
    write_report,
)
from tests.html_tree import Node, parse, table_rows
from tests.states import full_state

M15 = 15 * 60_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TIMES = [T0 + i * M15 for i in range(4)]
GPT_ALONE = [10_000.0, 10_000.0, 9_000.0, 9_500.0]
PLANTED = '<script>alert("pwned")</script> & breakout'


def run(name: str, equity: list[float] | np.ndarray) -> RunResult:
    curve = EquityCurve(name, TIMES, [float(v) for v in equity])
    return RunResult(curve, summarize(TIMES, curve.equity, starting_equity=10_000.0))


def lb_row(member: str, weight: float, pnl_sum_pct: float) -> LeaderboardRow:
    return LeaderboardRow(
        member=member, votes=10, ballots=9, answered_pct=90.0, abstentions=1, parse_failures=0, scored=8,
        hits=5, hit_rate_pct=62.5, hit_rate_low_pct=30.6, hit_rate_high_pct=86.3, brier=0.21,
        pnl_sum_pct=pnl_sum_pct, pnl_mean_pct=pnl_sum_pct / 9, in_consensus_pct=70.0, weight_share_pct=40.0,
        weight=weight, median_latency_ms=1500.0, cost_usd=0.42, cost_unknown=0,
    )  # fmt: skip


def ballot(member: str, action: Action, confidence: float, reasoning: str) -> Ballot:
    decision = TradeDecision(
        action=action,
        confidence=confidence,
        reasoning=reasoning,
        position_size_pct=20,
        take_profit=(0.03, 0.06),
        stop_loss=0.02,
    )
    return Ballot(member=member, model=f"vendor/{member}", symbol="BTC", decision=decision)


def trades() -> list[TradeRow]:
    consensus = vote(
        [
            ballot("claude", Action.LONG, 80, PLANTED),
            ballot("gpt", Action.LONG, 70, "EMAs stacked up on 1h and 4h."),
            Abstain(
                member="gemini", model="gemini/x", symbol="BTC", reason="timeout", detail="60 s <b>late</b>"
            ),
        ],
        {"claude": 1.0, "gpt": 0.8, "gemini": 0.5},
    )
    return [
        TradeRow("BTC", "LONG", TIMES[0], TIMES[1], 100_000.0, 105_000.0, size_base=0.1, pnl_usd=498.0,
                 pnl_pct=4.98, fees_usd=2.0, funding_usd=0.0, exit_reason="take_profit", cycle_id="cyc-1",
                 consensus=consensus, entry_state=full_state()),
        TradeRow("ETH", "SHORT", TIMES[2], TIMES[3], 4_000.0, 4_120.0, size_base=2.5, pnl_usd=-300.0,
                 pnl_pct=-3.0, fees_usd=1.5, funding_usd=0.5, exit_reason="stop_loss", cycle_id="cyc-3"),
    ]  # fmt: skip


def report_data(**meta_overrides: object) -> ReportData:
    journal = trades()
    swarm_curve = EquityCurve("swarm", TIMES, [10_000.0, 10_500.0, 10_200.0, 11_000.0])
    swarm = RunResult(
        swarm_curve,
        summarize(TIMES, swarm_curve.equity, in_position=[False, True, True, False], trades=journal),
    )
    closes = [100.0, 104.0, 98.0, 106.0]
    meta = {
        "title": "Backtest BTC ETH, January 2026",
        "roster": ("claude", "gpt", "local/trend"),
        "symbols": ("BTC", "ETH"),
        "window_start_ms": TIMES[0],
        "window_end_ms": TIMES[-1],
        "step_ms": M15,
        "starting_equity_usd": 10_000.0,
        "taker_fee_rate": 0.0004,
        "generated_at_ms": T0 + 86_400_000,
        "slippage_bps": 5.0,
        "cutoff_flags": (CutoffFlag("claude", "2026-01"),),
        "random_seed": 42,
        "notes": ("note with <i>markup</i>",),
    }
    meta.update(meta_overrides)
    return ReportData(
        meta=RunMeta(**meta),  # type: ignore[arg-type]
        swarm=swarm,
        baselines=(
            run("buy-and-hold", buy_and_hold(TIMES, closes, starting_equity=10_000, fee_rate=0.0004)),
            run("always flat", always_flat(TIMES, starting_equity=10_000)),
            run("random entries", [10_000.0, 9_900.0, 9_950.0, 10_020.0]),
        ),
        members=(
            MemberReport("claude", "anthropic/claude-sonnet-5", lb_row("claude", 1.2, 4.5)),
            MemberReport("gpt", "openai/gpt-5.5", lb_row("gpt", 0.8, -2.25), run("gpt alone", GPT_ALONE)),
            MemberReport("local/trend", "local/trend", None),
        ),
        weights=(
            WeightSeries("claude", TIMES, [1.0, 1.1, 1.2, 1.2]),
            WeightSeries("gpt", TIMES, [1.0, 0.9, 0.8, 0.8]),
        ),
        trades=journal,
    )  # fmt: skip


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(report_data())


@pytest.fixture(scope="module")
def doc(html: str) -> Node:
    return parse(html)


def test_one_self_contained_html_document(html: str, doc: Node) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert [n.tag for n in doc.children] == ["html"]
    assert [n.tag for n in doc.find("html").children] == ["head", "body"]
    assert not re.search(r"https?:", html, re.IGNORECASE)
    assert not re.search(r"<script|<link|<iframe|<img|\bsrc=|@import|url\(", html, re.IGNORECASE)
    assert doc.find("meta").attrs["charset"] == "utf-8"
    assert doc.find("title").text() == "Backtest BTC ETH, January 2026"


@pytest.mark.parametrize(
    ("figure", "lines"),
    [("chart-equity", 4), ("chart-drawdown", 4), ("chart-weights", 2), ("chart-alone", 2)],
)
def test_each_line_chart_is_an_svg_with_one_line_per_series_and_labelled_axes(
    doc: Node, figure: str, lines: int
) -> None:
    chart = doc.find("figure", id_=figure).find("svg")
    assert len(list(chart.iter("polyline"))) == lines
    texts = [t.text() for t in chart.iter("text")]
    assert any("(USD)" in t or "(%)" in t or t == "weight" for t in texts)  # y-axis title
    assert "time (UTC)" in texts


def test_the_legends_name_the_swarm_and_the_three_baselines(doc: Node) -> None:
    texts = [t.text() for t in doc.find("figure", id_="chart-equity").iter("text")]
    for name in ("swarm", "buy-and-hold", "always flat", "random entries"):
        assert name in texts


def test_member_pnl_bars(doc: Node) -> None:
    chart = doc.find("figure", id_="chart-member-pnl").find("svg")
    # One bar per member with a leaderboard row: gains green, losses red.
    fills = [r.attrs["fill"] for r in chart.iter("rect")][1:]  # the first is the background
    assert fills == ["#2b9a3e", "#c0392b"]
    texts = [t.text() for t in chart.iter("text")]
    assert {"claude ⚠ cutoff", "gpt", "+4.50 %", "-2.25 %"} <= set(texts)


def test_chart_legends_mark_the_cutoff_member(doc: Node) -> None:
    texts = [t.text() for t in doc.find("figure", id_="chart-weights").iter("text")]
    assert "claude ⚠ cutoff" in texts
    assert "gpt" in texts


def test_summary_table_numbers(doc: Node) -> None:
    rows = {r[0]: r for r in table_rows(doc.find("table", id_="summary"))}
    assert list(rows) == ["swarm", "buy-and-hold", "always flat", "random entries"]
    swarm = rows["swarm"]
    assert swarm[1:3] == ["+10.00 %", "$11,000.00"]
    assert swarm[5] == "2.86 % (2026-01-01 00:15 → 2026-01-01 00:30)"
    assert swarm[6:] == ["50.00 %", "2", "50.00 %", "+$498.00", "-$300.00", "1.66", "$3.50", "+$0.50", "—"]
    assert rows["buy-and-hold"][1:3] == ["+5.96 %", "$10,596.00"]
    flat = rows["always flat"]
    assert flat[1:6] == ["+0.00 %", "$10,000.00", "—", "—", "0.00 %"]
    assert "35,040 per year" in doc.find("body").text()  # the annualisation frequency is stated


def test_member_table_and_cutoff_marks(doc: Node) -> None:
    table = doc.find("table", id_="members")
    rows = {r[0]: r for r in table_rows(table)}
    assert rows["claude ⚠ cutoff"][1] == "anthropic/claude-sonnet-5"
    assert rows["gpt"][2:5] == ["0.80", "10", "9"]
    # Followed alone: 10,000 -> 9,500, DD 10 %; Sharpe of returns (0, -10 %, +5.56 %) is -35.18.
    assert rows["gpt"][-3:] == ["-5.00 %", "-35.18", "10.00 %"]
    assert rows["local/trend"][2] == "—"
    marked = [
        tr
        for tr in table.find("tbody").children
        if any(s.attrs.get("class") == "cutoff" for s in tr.iter("span"))
    ]
    assert len(marked) == 1
    assert "claude (cutoff 2026-01)" in doc.find("div", class_="warn").text()


def test_trade_journal_with_every_ballot_behind_it(doc: Node) -> None:
    table = doc.find("table", id_="trades")
    btc = table_rows(table)[0]
    assert btc[:8] == [
        "1",
        "BTC",
        "LONG",
        "2026-01-01 00:00",
        "100,000.00",
        "2026-01-01 00:15",
        "105,000.00",
        "15m",
    ]
    assert btc[8:13] == ["+$498.00", "+4.98 %", "$2.00", "$0.00", "take_profit"]
    details = table.find("details")
    ballots = [d.text() for d in details.iter("div") if d.attrs.get("class") == "ballot"]
    assert len(ballots) == 3
    assert ballots[0].startswith("claude ⚠ cutoff LONG 80")
    assert "weight 0.80" in ballots[1]
    assert ballots[2] == "gemini abstained (timeout: 60 s <b>late</b>)"
    assert "market at entry: 114,207.50" in details.text()


def test_text_from_models_is_escaped(html: str, doc: Node) -> None:
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; breakout" in html
    assert "<b>late</b>" not in html
    assert "<i>markup</i>" not in html
    reasons = [p.text() for p in doc.iter("p") if p.attrs.get("class") == "why"]
    assert PLANTED in reasons  # shown as written, as text


def test_write_report_writes_the_file(tmp_path: Path) -> None:
    path = write_report(report_data(), tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    assert path.read_text(encoding="utf-8") == render_report(report_data())


def test_no_trades_and_no_cutoffs() -> None:
    data = report_data(cutoff_flags=())
    bare = ReportData(meta=data.meta, swarm=data.swarm, baselines=data.baselines)
    html = render_report(bare)
    assert "No closed trades." in html
    assert 'class="cutoff"' not in html
    assert "no data" in html  # the weights chart without weights


def test_anonymized_times_print_as_elapsed_time() -> None:
    data = report_data(anonymized=True, window_start_ms=0, window_end_ms=3 * M15)
    assert "T+0d 00:00 → T+0d 00:45" in render_report(data)
    assert "relative time and prices rebased to 100" in render_report(data)


def test_curves_must_share_the_swarms_timestamps() -> None:
    data = report_data()
    shifted = RunResult(EquityCurve("late", [t + M15 for t in TIMES], [1.0] * 4), data.swarm.summary)
    with pytest.raises(ValueError, match="not on the swarm's timestamps"):
        ReportData(meta=data.meta, swarm=data.swarm, baselines=(shifted,))
    with pytest.raises(ValueError, match="4 times, 3 values"):
        EquityCurve("short", TIMES, [1.0, 2.0, 3.0])


def test_a_year_of_15_minute_steps_stays_small() -> None:
    n = 35_040
    times = [T0 + i * M15 for i in range(n)]
    rng = np.random.default_rng(0)
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    data = report_data(window_end_ms=times[-1])
    curve = EquityCurve("swarm", times, equity.tolist())
    year = ReportData(
        meta=data.meta,
        swarm=RunResult(curve, summarize(times, equity)),
        baselines=(
            RunResult(EquityCurve("always flat", times, [10_000.0] * n), summarize(times, [10_000.0] * n)),
        ),
    )
    html = render_report(year)
    assert len(html) < 400_000
    lines = parse(html).find("figure", id_="chart-equity").iter("polyline")
    assert all(len(str(p.attrs["points"]).split()) <= 1200 for p in lines)


def test_amounts_that_round_to_zero_carry_no_sign() -> None:
    from swarm._report_format import money, signed_money

    assert (money(-0.004), signed_money(-0.004), signed_money(0.004)) == ("$0.00", "$0.00", "$0.00")
    assert (money(-0.005001), signed_money(0.006), signed_money(-12.3)) == ("-$0.01", "+$0.01", "-$12.30")
