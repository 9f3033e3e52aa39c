"""Settings: environment and swarm.toml, precedence, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarm.config import DEFAULT_ALIASES, ConfigError, load_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in an empty directory with no SWARM_* variables from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    import os

    for key in list(os.environ):
        if key.startswith("SWARM_"):
            monkeypatch.delenv(key)


def test_defaults_point_at_mainnet_and_local_db() -> None:
    settings = load_settings()
    assert settings.db == "swarm.db"
    assert settings.pacifica_url == "https://api.pacifica.fi/api/v1"
    assert settings.hyperliquid_url == "https://api.hyperliquid.xyz"
    assert settings.binance_url == "https://fapi.binance.com"
    assert settings.data_dir is None
    assert settings.resolve_model("claude") == DEFAULT_ALIASES["claude"]


def test_environment_names_that_outside_tools_rely_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARM_DB", "postgresql://bot@db/swarm")
    monkeypatch.setenv("SWARM_PACIFICA_URL", "http://127.0.0.1:9000/api/v1")
    monkeypatch.setenv("SWARM_HYPERLIQUID_URL", "http://127.0.0.1:9001")
    monkeypatch.setenv("SWARM_BINANCE_URL", "http://127.0.0.1:9002")
    monkeypatch.setenv("SWARM_DATA_DIR", "/data/replay")
    settings = load_settings()
    assert settings.db == "postgresql://bot@db/swarm"
    assert settings.pacifica_url == "http://127.0.0.1:9000/api/v1"
    assert settings.hyperliquid_url == "http://127.0.0.1:9001"
    assert settings.binance_url == "http://127.0.0.1:9002"
    assert settings.data_dir == Path("/data/replay")


def test_toml_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "swarm.toml").write_text(
        'db = "from-toml.db"\ndeadline_s = 30\n[members.claude]\ntemperature = 0.7\nmodel = "openai/local"\n'
    )
    monkeypatch.setenv("SWARM_DB", "from-env.db")
    settings = load_settings()
    assert settings.db == "from-env.db"
    assert settings.deadline_s == 30
    assert settings.member("claude").temperature == 0.7
    assert settings.resolve_model("claude") == "openai/local"
    assert settings.resolve_model("openrouter/x/y") == "openrouter/x/y"


def test_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARM_DEADLINE_S", "soon")
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith("SWARM_DEADLINE_S:")
    assert "soon" in message
    assert "\n" not in message


def test_nested_member_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARM_MEMBERS__GROK__TEMPERATURE", "9")
    with pytest.raises(ConfigError, match=r"^SWARM_MEMBERS__GROK__TEMPERATURE: .*less than or equal to 2"):
        load_settings()


def test_unknown_toml_key_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "swarm.toml").write_text("deadlin_s = 30\n")
    with pytest.raises(ConfigError, match="deadlin_s"):
        load_settings()


def test_broken_toml_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "swarm.toml").write_text("deadline_s = = 3\n")
    with pytest.raises(ConfigError, match=r"swarm\.toml: not valid TOML"):
        load_settings()


def test_explicit_config_file_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWARM_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"SWARM_CONFIG: file .*nope\.toml does not exist"):
        load_settings()
