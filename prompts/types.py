"""What a rendered prompt is: the messages a member receives, with their template version."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class RenderedPrompt:
    """System and user messages for one symbol, and the template version that made them."""

    system: str
    user: str
    version: str

    @cached_property
    def digest(self) -> str:
        """Stable hash of the exact text sent (the response cache keys on it)."""
        text = f"{self.version}\x00{self.system}\x00{self.user}"
        return hashlib.sha256(text.encode()).hexdigest()

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]
