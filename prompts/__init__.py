"""Versioned prompt templates and their rendering."""

from prompts.context import PortfolioView, PositionView, TradeOutcome
from prompts.render import PROMPT_VERSION, render
from prompts.types import RenderedPrompt

__all__ = ["PROMPT_VERSION", "PortfolioView", "PositionView", "RenderedPrompt", "TradeOutcome", "render"]
