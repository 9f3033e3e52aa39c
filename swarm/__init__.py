"""The app: config, members, fan-out, engine, CLI, store and reports."""

import os

# Before anything imports litellm: otherwise its import fetches price and header tables from
# GitHub, blocking for seconds with no network. setdefault keeps an operator's explicit choice.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
