"""`swarm report`: one self-contained HTML file (inline CSS and SVG, no script, no external URL).

Sections: run metadata (with the knowledge-cutoff warning), the summary table of the swarm beside
its baselines, four charts (equity vs baselines, drawdown, member weights over time, per-member
PnL), plus each member followed alone when given, the per-member table and the trade journal,
each trade with the consensus and every ballot behind it in a collapsible <details>.
Every text from the data is escaped: reasoning comes from LLMs and may hold anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from swarm import svg
from swarm._report_format import (
    NONE,
    chart_time,
    duration,
    money,
    number,
    pct,
    signed_money,
    signed_pct,
    timestamp,
)
from swarm._report_html import badge, e, row, table
from swarm._report_trades import trades_section
from swarm.metrics import PerformanceSummary, drawdown_series, frequency_text
from swarm.report_data import (
    EquityCurve,
    MemberReport,
    ReportData,
    RunMeta,
    RunResult,
    TradeRow,
    WeightSeries,
)

__all__ = [
    "EquityCurve",
    "MemberReport",
    "ReportData",
    "RunMeta",
    "RunResult",
    "TradeRow",
    "WeightSeries",
    "render_report",
    "write_report",
]

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 12px}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 7px;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}
table.meta td{text-align:left}
.cutoff{background:#fff1d6;color:#8a5300;border:1px solid #e0a030;border-radius:3px;padding:0 4px;
font-size:11px;white-space:nowrap}
.warn{background:#fff7e6;border:1px solid #e0a030;padding:8px 12px;margin:12px 0}
.pos{color:#1e7b34}.neg{color:#b0281a}
details{margin:2px 0}summary{cursor:pointer}
.ballot{border-left:3px solid #ccc;margin:6px 0;padding:2px 8px}
.why{white-space:pre-wrap;margin:4px 0;color:#333}
pre{white-space:pre-wrap;font-size:11px;background:#f8f8f8;padding:6px}
figure{margin:16px 0}figcaption{font-size:12px;color:#555}
"""


def write_report(data: ReportData, path: Path | str) -> Path:
    """Render `data` and write it to `path` (parent folders created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(data), encoding="utf-8")
    return target


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document."""
    body = [
        _header(data),
        _summary_section(data),
        _charts_section(data),
        _members_section(data),
        trades_section(data.trades, data.flagged),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(data.meta.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# ---- header --------------------------------------------------------------------------------------


def _header(data: ReportData) -> str:
    meta = data.meta
    rows = [
        ("roster", ", ".join(e(m) + _badge(data, m) for m in meta.roster)),
        ("symbols", e(", ".join(meta.symbols))),
        ("window", _window(meta)),
        ("step", e(frequency_text(meta.step_ms))),
        ("starting equity", e(money(meta.starting_equity_usd))),
        ("costs", e(_costs(meta))),
        ("anonymized", e(_anonymized(meta))),
        ("random baseline seed", e(NONE if meta.random_seed is None else str(meta.random_seed))),
        ("generated", e(timestamp(meta.generated_at_ms))),
        ("times", "UTC throughout"),
    ]
    rows.extend(("note", e(note)) for note in meta.notes)
    cells = "".join(f'<tr><th class="l">{e(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<h1>{e(meta.title)}</h1>\n{_cutoff_warning(meta)}<table class="meta">{cells}</table>'


def _window(meta: RunMeta) -> str:
    span = duration(meta.window_end_ms - meta.window_start_ms)
    return e(f"{timestamp(meta.window_start_ms)} → {timestamp(meta.window_end_ms)} ({span})")


def _costs(meta: RunMeta) -> str:
    slippage = "" if meta.slippage_bps is None else f", slippage {meta.slippage_bps:g} bps"
    funding = "funding included" if meta.funding_included else "funding NOT included"
    return f"taker fee {meta.taker_fee_rate * 100:.3f} % per fill{slippage}, {funding}"


def _anonymized(meta: RunMeta) -> str:
    if not meta.anonymized:
        return "no: the models saw real symbols, dates and prices"
    return "yes: the models saw neutral symbols, relative time and prices rebased to 100"


def _cutoff_warning(meta: RunMeta) -> str:
    if not meta.cutoff_flags:
        return ""
    items = ", ".join(f"{e(f.member)} (cutoff {e(f.cutoff)})" for f in meta.cutoff_flags)
    # Anonymizing makes recall harder, not impossible: the mark stays, the wording says why.
    softened = (
        " The run was anonymized, which makes that harder but not impossible." if meta.anonymized else ""
    )
    return (
        '<div class="warn"><b>Knowledge cutoff:</b> the window starts before the training cutoff of '
        f"{items}. These models may remember the prices replayed here, which flatters them.{softened} "
        'Their results are marked <span class="cutoff">⚠ cutoff</span>.</div>\n'
    )


def _badge(data: ReportData, member: str) -> str:
    return badge(data.flagged, member)


# ---- summary -------------------------------------------------------------------------------------

_SUMMARY_HEAD = (
    "run", "return", "end equity", "Sharpe", "Sortino", "max drawdown", "exposure", "trades",
    "win rate", "avg win", "avg loss", "profit factor", "fees", "funding", "conf ↔ hit r",
)  # fmt: skip


def _summary_section(data: ReportData) -> str:
    runs = [data.swarm, *data.baselines]
    rows = "".join(_summary_row(run.name, run.summary) for run in runs)
    note = (
        f"Sharpe and Sortino annualised from {frequency_text(data.meta.step_ms)}, risk-free rate 0; "
        "Sortino's downside deviation over all periods (target 0). Max drawdown from the running peak. "
        "Profit factor: sum of wins / |sum of losses| (∞: no loss). PnL net of fees and funding."
    )
    return f"<h2>Summary</h2>\n{table(_SUMMARY_HEAD, rows, id_='summary')}\n<p><small>{e(note)}</small></p>"


def _summary_row(name: str, s: PerformanceSummary) -> str:
    t, dd = s.trades, s.max_drawdown
    where = (
        ""
        if dd.peak_ms is None or dd.trough_ms is None
        else f" ({timestamp(dd.peak_ms)} → {timestamp(dd.trough_ms)})"
    )
    cells = [
        signed_pct(s.total_return),
        money(s.end_equity),
        number(s.sharpe),
        number(s.sortino),
        pct(dd.fraction) + where,
        pct(s.exposure),
        str(t.count),
        pct(t.win_rate),
        signed_money(t.avg_win_usd),
        signed_money(t.avg_loss_usd),
        number(t.profit_factor),
        money(t.total_fees_usd),
        signed_money(t.total_funding_usd),
        number(s.confidence_correlation),
    ]
    return row([e(name)], cells)


# ---- charts --------------------------------------------------------------------------------------

_CAPTIONS = {
    "chart-equity": "USD, marked to market at each step; the swarm is the thick line.",
    "chart-drawdown": "Fall from the running peak, percent.",
    "chart-weights": "The weight each member's ballot carried in the vote.",
    "chart-member-pnl": "Sum over scored ballots of the PnL if followed, percent of notional.",
    "chart-alone": "Each member's ballots alone, through the same risk engine and venue.",
}


def _charts_section(data: ReportData) -> str:
    runs = [(r.name, r.curve) for r in (data.swarm, *data.baselines)]
    charts = {
        "chart-equity": _equity_chart(runs, "Equity: swarm vs baselines"),
        "chart-drawdown": _drawdown_chart(runs),
        "chart-weights": _weights_chart(data),
        "chart-member-pnl": _member_pnl_chart(data),
    }
    alone = [(_marked(data, m.member), m.alone.curve) for m in data.members if m.alone is not None]
    if alone:
        charts["chart-alone"] = _equity_chart([runs[0], *alone], "Equity: each member followed alone")
    figures = (
        f'<figure id="{id_}">\n{chart}\n<figcaption>{e(_CAPTIONS[id_])}</figcaption>\n</figure>'
        for id_, chart in charts.items()
    )
    return "<h2>Charts</h2>\n" + "\n".join(figures)


def _marked(data: ReportData, member: str) -> str:
    """A member's name for a legend, with the cutoff mark when the window starts before it."""
    return f"{member} ⚠ cutoff" if member in data.flagged else member


def _equity_chart(runs: Sequence[tuple[str, EquityCurve]], title: str) -> str:
    series = [_series(name, curve, curve.equity, i) for i, (name, curve) in enumerate(runs)]
    return svg.line_chart(
        series, title=title, y_label="equity (USD)", x_format=chart_time, y_format=_axis_money
    )


def _drawdown_chart(runs: Sequence[tuple[str, EquityCurve]]) -> str:
    series = [
        _series(name, curve, [100.0 * v for v in drawdown_series(curve.equity)], i)
        for i, (name, curve) in enumerate(runs)
    ]
    return svg.line_chart(
        series, title="Drawdown", y_label="drawdown (%)", x_format=chart_time, y_format=lambda v: f"{v:g} %"
    )


def _series(name: str, curve: EquityCurve, ys: Iterable[float], index: int) -> svg.Series:
    # The swarm (first) is drawn thicker; "flat" reads better as a dashed reference line.
    return svg.Series(
        name=name,
        xs=curve.timestamps_ms,
        ys=list(ys),
        width=2.4 if index == 0 else 1.4,
        dashed="flat" in name.lower(),
    )


def _weights_chart(data: ReportData) -> str:
    series = [svg.Series(_marked(data, w.member), w.timestamps_ms, w.weights) for w in data.weights]
    return svg.line_chart(
        series,
        title="Member weights over time",
        y_label="weight",
        x_format=chart_time,
        y_format=lambda v: f"{v:g}",
    )


def _member_pnl_chart(data: ReportData) -> str:
    bars = [(_marked(data, m.member), m.row.pnl_sum_pct) for m in data.members if m.row is not None]
    return svg.bar_chart(
        bars,
        title="PnL per member (followed)",
        x_label="PnL, sum of % of notional",
        value_format=_signed_pct_points,
    )


def _signed_pct_points(value: float) -> str:
    return f"{value:+.2f} %"


def _axis_money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


# ---- members -------------------------------------------------------------------------------------

_MEMBER_HEAD = (
    "member", "model", "weight", "votes", "ballots", "answered", "hit rate (95 % CI)", "Brier",
    "PnL followed Σ", "in consensus", "cost", "alone: return", "alone: Sharpe", "alone: max DD",
)  # fmt: skip


def _members_section(data: ReportData) -> str:
    rows = "".join(_member_row(data, m) for m in data.members)
    section = f"<h2>Members</h2>\n{table(_MEMBER_HEAD, rows, id_='members', left=2)}"
    alone = [m for m in data.members if m.alone is not None]
    if not alone:
        return section
    alone_rows = "".join(
        _summary_row(_marked(data, m.member), m.alone.summary) for m in alone if m.alone is not None
    )
    how = (
        "Local members run again; LLM members replay the answers they gave in the swarm's run "
        "(they are not asked again) and hold where that run did not ask them."
        if data.meta.kind == "backtest"
        else "Each replays the answers it gave in this run, on the prices the run recorded at its "
        "cycles (stops fire at those marks, as on the paper venue)."
    )
    note = (
        "Each member as a roster of one through the same risk engine, paper venue and costs as the "
        f"swarm. {how} Conf ↔ hit r: over the member's scored ballots."
    )
    return (
        f"{section}\n<h3>Each member followed alone</h3>\n"
        f"{table(_SUMMARY_HEAD, alone_rows, id_='members-alone')}\n<p><small>{e(note)}</small></p>"
    )


def _member_row(data: ReportData, m: MemberReport) -> str:
    r, alone = m.row, (m.alone.summary if m.alone else None)
    name = [e(m.member) + _badge(data, m.member), e(m.model)]
    if r is None:
        cells = [NONE] * 9
    else:
        hit = (
            NONE
            if r.hit_rate_pct is None
            else f"{r.hit_rate_pct:.1f} % ({r.hit_rate_low_pct:.0f} to {r.hit_rate_high_pct:.0f})"
        )
        cells = [
            number(r.weight), str(r.votes), str(r.ballots), _pct_points(r.answered_pct), hit,
            number(r.brier, 3), _signed_pct_points(r.pnl_sum_pct), _pct_points(r.in_consensus_pct),
            money(r.cost_usd) + (f" (+{r.cost_unknown} unknown)" if r.cost_unknown else ""),
        ]  # fmt: skip
    cells += [
        signed_pct(alone.total_return) if alone else NONE,
        number(alone.sharpe) if alone else NONE,
        pct(alone.max_drawdown.fraction) if alone else NONE,
    ]
    return row(name, cells)


def _pct_points(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f} %"
