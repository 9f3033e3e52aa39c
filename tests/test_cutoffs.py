"""Knowledge cutoffs: which members a replay window flatters, and their configuration."""

from __future__ import annotations

import os

import pytest

from swarm.config import DEFAULT_ALIASES, ConfigError, MemberSettings, Settings, load_settings
from swarm.cutoffs import (
    CutoffFlag,
    knowledge_cutoff,
    knowledge_end_ms,
    members_before_cutoff,
    members_without_cutoff,
)
from swarm.timeutil import parse_utc

ROSTER = ["deepseek", "grok", "claude", "gpt", "gemini", "local/trend"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """No swarm.toml and no SWARM_* variables from the developer's shell."""
    monkeypatch.chdir(str(tmp_path))
    for key in list(os.environ):
        if key.startswith("SWARM_"):
            monkeypatch.delenv(key)


def test_every_default_alias_has_a_cutoff_and_local_members_none() -> None:
    settings = load_settings()
    for alias in DEFAULT_ALIASES:
        assert knowledge_cutoff(alias, settings) is not None, alias
    assert knowledge_cutoff("local/trend", settings) is None
    assert knowledge_cutoff(DEFAULT_ALIASES["claude"], settings) == knowledge_cutoff("claude", settings)


def test_a_month_cutoff_covers_the_whole_month() -> None:
    assert knowledge_end_ms("2026-01") == parse_utc("2026-02-01")
    assert knowledge_end_ms("2025-12") == parse_utc("2026-01-01")
    assert knowledge_end_ms("2025-12-01") == parse_utc("2025-12-02")
    assert knowledge_end_ms("2024-02-29") == parse_utc("2024-03-01")


def test_members_before_cutoff_at_the_boundary() -> None:
    settings = load_settings(knowledge_cutoffs={"claude": "2026-01", "gpt": "2025-12-01"})
    members = ["claude", "gpt"]
    assert members_before_cutoff(members, parse_utc("2026-01-31T23:59:59Z"), settings) == [
        CutoffFlag("claude", "2026-01")
    ]
    assert members_before_cutoff(members, parse_utc("2026-02-01T00:00:00Z"), settings) == []
    assert members_before_cutoff(members, parse_utc("2025-12-01T12:00:00Z"), settings) == [
        ("claude", "2026-01"),
        ("gpt", "2025-12-01"),
    ]
    assert members_before_cutoff(members, parse_utc("2025-12-02T00:00:00Z"), settings) == [
        ("claude", "2026-01")
    ]


def test_the_default_roster_is_all_flagged_on_an_old_window_except_local_members() -> None:
    flagged = members_before_cutoff(ROSTER, parse_utc("2020-01-01"), load_settings())
    assert [f.member for f in flagged] == ROSTER[:-1]
    assert members_before_cutoff(ROSTER, parse_utc("2030-01-01"), load_settings()) == []


def test_a_configured_model_string_wins_over_the_alias_and_defaults_stay() -> None:
    settings = load_settings(
        knowledge_cutoffs={
            DEFAULT_ALIASES["claude"]: "2024-01",
            "claude": "2027-01",
            "openrouter/x/y": "2025-06",
        }
    )
    assert knowledge_cutoff("claude", settings) == "2024-01"
    assert knowledge_cutoff("openrouter/x/y", settings) == "2025-06"
    # Not in the configured table, so the default of its model string applies.
    assert knowledge_cutoff("gemini", settings) == "2025-01"


def test_a_repointed_alias_does_not_inherit_the_old_models_cutoff() -> None:
    settings = Settings(members={"claude": MemberSettings(model="openai/my-local-model")})
    assert knowledge_cutoff("claude", settings) is None
    assert members_without_cutoff(["claude", "gpt", "local/meanrev", "ollama/qwen"], settings) == [
        "claude",
        "ollama/qwen",
    ]


@pytest.mark.parametrize("bad", ["Jan 2025", "2025-13", "2025-02-30", "2025"])
def test_a_bad_cutoff_is_a_one_line_error_naming_the_key(bad: str) -> None:
    with pytest.raises(ConfigError, match="SWARM_KNOWLEDGE_CUTOFFS"):
        load_settings(knowledge_cutoffs={"claude": bad})


def test_cutoffs_come_from_swarm_toml() -> None:
    with open("swarm.toml", "w") as f:
        f.write('[knowledge_cutoffs]\n"claude" = "2023-04-30"\n')
    settings = load_settings()
    # The table replaces the defaults in Settings; the lookup still falls back to them.
    assert settings.knowledge_cutoffs == {"claude": "2023-04-30"}
    assert knowledge_cutoff("claude", settings) == "2023-04-30"
    assert knowledge_cutoff("grok", settings) == "2026-05"
