"""Settings from `SWARM_*` environment variables and an optional `swarm.toml`.

Precedence: explicit arguments > environment > swarm.toml (in the working directory, or the file
named by SWARM_CONFIG) > defaults. A bad value raises ConfigError with one line naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Current litellm model strings per vendor alias (checked against litellm 1.110's price map, which
# marks deepseek-chat deprecated from 2026-07-24).
DEFAULT_ALIASES: dict[str, str] = {
    "deepseek": "deepseek/deepseek-v4-pro",
    "grok": "xai/grok-4.7",
    "claude": "anthropic/claude-sonnet-5",
    "gpt": "openai/gpt-5.5",
    "gemini": "gemini/gemini-3.1-pro-preview",
}

# Knowledge (training-data) cutoff of each default model, keyed by its litellm model string so
# that re-pointing an alias does not carry a wrong date over. "YYYY-MM" means the whole month.
# These were gathered without network access from stored copies of vendor pages and secondary
# sources; CHECK THEM against the vendors' pages whenever a model changes. DeepSeek publishes
# none: the snapshot's release date stands in as an upper bound (a later date only warns more).
# local/ members have none: they learn nothing.
DEFAULT_KNOWLEDGE_CUTOFFS: dict[str, str] = {
    DEFAULT_ALIASES["deepseek"]: "2026-08-13",
    DEFAULT_ALIASES["grok"]: "2026-05",
    DEFAULT_ALIASES["claude"]: "2026-01",
    DEFAULT_ALIASES["gpt"]: "2025-12-01",
    DEFAULT_ALIASES["gemini"]: "2025-01",
}

# The environment variable holding each provider's key, as litellm reads it.
PROVIDER_KEY_ENV: dict[str, str] = {
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "gemini": "GEMINI_API_KEY",
}

_ISO_CUTOFF = re.compile(r"\d{4}-\d{2}(-\d{2})?")

PACIFICA_MAINNET = "https://api.pacifica.fi/api/v1"
HYPERLIQUID_MAINNET = "https://api.hyperliquid.xyz"
BINANCE_MAINNET = "https://fapi.binance.com"


class ConfigError(Exception):
    """A setting has a bad value; the message is one line naming the key."""


class MemberSettings(BaseModel):
    """Per-member overrides, e.g. `[members.claude] temperature = 0.2` in swarm.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(default=None, description="litellm model string; default: the alias's")
    temperature: float = Field(default=0.2, ge=0, le=2)
    # Reasoning models (gpt-5.x, Claude with thinking) spend this budget before the answer too.
    max_tokens: int = Field(default=4096, gt=0)
    timeout_s: float | None = Field(default=None, gt=0, description="default: the cycle deadline")
    api_base: str | None = None
    prior_weight: float = Field(
        default=1.0,
        ge=0,
        description="A new member starts at this x the median weight of the established ones",
    )


class Settings(BaseSettings):
    """Everything configurable. Environment names are SWARM_<FIELD>, e.g. SWARM_DB."""

    model_config = SettingsConfigDict(
        env_prefix="SWARM_", extra="forbid", frozen=True, env_nested_delimiter="__"
    )

    db: str = Field(default="swarm.db", description="SQLite path or database URL")
    pacifica_url: str = PACIFICA_MAINNET
    hyperliquid_url: str = HYPERLIQUID_MAINNET
    binance_url: str = BINANCE_MAINNET
    data_dir: Path | None = Field(default=None, description="Replay data; default: the bundled slice")
    http_timeout_s: float = Field(default=10.0, gt=0)
    deadline_s: float = Field(default=60.0, gt=0, description="One deadline per swarm cycle")
    score_horizon_h: float = Field(
        default=4.0, gt=0, description="A ballot is scored against the price path of this many hours"
    )
    budget_usd_per_day: float | None = Field(default=None, ge=0)
    paper_equity_usd: float = Field(default=10_000.0, gt=0, description="Starting equity of the paper venue")
    aliases: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ALIASES))
    provider_concurrency: dict[str, int] = Field(
        default_factory=dict, description="Calls in flight per provider, e.g. {openai = 20}; default 8"
    )
    members: dict[str, MemberSettings] = Field(default_factory=dict)
    knowledge_cutoffs: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_KNOWLEDGE_CUTOFFS),
        description="Training cutoff (YYYY-MM or YYYY-MM-DD) per alias or litellm model string",
    )

    @field_validator("knowledge_cutoffs")
    @classmethod
    def _iso_cutoffs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, cutoff in value.items():
            if not _ISO_CUTOFF.fullmatch(cutoff):
                raise ValueError(f"cutoff of {name!r} must be YYYY-MM or YYYY-MM-DD (got {cutoff!r})")
            try:  # a month is checked as its first day, so a bad month or day fails here
                date.fromisoformat(cutoff if len(cutoff) == 10 else cutoff + "-01")
            except ValueError:
                raise ValueError(f"cutoff of {name!r} is not a calendar date (got {cutoff!r})") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    def resolve_model(self, name: str) -> str:
        """The litellm model string for an alias or a model string given as is."""
        override = self.members.get(name)
        if override is not None and override.model:
            return override.model
        return self.aliases.get(name, name)

    def member(self, name: str) -> MemberSettings:
        return self.members.get(name, MemberSettings())

    @property
    def score_horizon_ms(self) -> int:
        return round(self.score_horizon_h * 3_600_000)


class _TomlSource(PydanticBaseSettingsSource):
    """Reads swarm.toml (or $SWARM_CONFIG); a missing default file is fine, a broken one is not."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        explicit = os.environ.get("SWARM_CONFIG")
        self.path = Path(explicit) if explicit else Path("swarm.toml")
        self.required = explicit is not None

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns everything at once

    def __call__(self) -> dict[str, Any]:
        if not self.path.exists():
            if self.required:
                raise ConfigError(f"SWARM_CONFIG: file {self.path} does not exist")
            return {}
        try:
            return tomllib.loads(self.path.read_text())
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self.path}: not valid TOML ({exc})") from None


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into a one-line ConfigError naming the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = [str(p) for p in first["loc"]]
        if first["type"] == "extra_forbidden":
            # Unknown SWARM_* variables are ignored, so an unknown key can only come from a file.
            raise ConfigError(f"unknown setting {'.'.join(path)!r} in the config file") from None
        key = "SWARM_" + "__".join(path).upper()
        value = first.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        raise ConfigError(f"{key}: {first['msg']}{shown}") from None
