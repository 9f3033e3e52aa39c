"""Cut the parser's fixture out of the shared Alpha Arena conversations (run by hand; output is committed).

Usage: .venv/bin/python scripts/bundle_alpha_arena_fixture.py [CONVERSATIONS_JSON]

Keeps, per record, only what tests/test_parse.py needs: the id, the model, the coins it answered
for, the answer (structured as nof1 stored it, or the raw text nof1 failed to parse) and the
chain of thought when it is text (real prose, with real JSON drafts in it). Prompts are dropped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path("/work/shared/data/llm/alpha-arena-2025-10-28/conversations.json")
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "alpha_arena" / "responses.json"
RAW_KEY = "failed_json_response_raw_text"


def _record(conversation: dict[str, Any]) -> dict[str, Any]:
    answer = conversation["llm_response"]
    raw_text = answer.get(RAW_KEY)
    cot = conversation["cot_trace"]
    return {
        "id": conversation["id"],
        "model_id": conversation["model_id"],
        "coins": _raw_text_coins(raw_text) if raw_text else list(answer),
        "llm_response": None if raw_text else answer,
        "raw_text": raw_text,
        "cot_trace": cot if isinstance(cot, str) else None,
    }


def _raw_text_coins(raw_text: str) -> list[str]:
    # The one raw answer ends "...output the JSON.[ {COIN: {trade_signal_args: ...}}, ... ]".
    tail = json.loads(raw_text[raw_text.rindex("JSON.[") + len("JSON.") :])
    return [coin for item in tail for coin in item]


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    conversations = json.loads(source.read_text())["conversations"]
    records = [_record(c) for c in conversations]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(records)} records -> {OUT}")


if __name__ == "__main__":
    main()
