"""Known context windows by model name: the one table, used from an agent's first event.

An agent says which model it runs when its session starts, but some report the window only at
the end (Claude Code: in the result's ``modelUsage``), and some never (Gemini CLI). With this
table the context bar is known from the first usage event. Precedence (``SessionState.window``):
the agent's own report > ``[agents.X] context_window`` > this table > the adapter's default.

Where the numbers come from:

- Claude: what Claude Code 2.1.197 itself reports as ``contextWindow`` (run against the scripted
  model server): ``claude-opus-4-8[1m]`` (its default model) and ``claude-sonnet-5[1m]`` 1,000,000,
  ``claude-sonnet-4-5`` 200,000. A ``[1m]`` suffix is the 1M-token window; every other Claude
  model has Anthropic's standard 200K.
- Gemini: Gemini CLI's ``tokenLimit()`` (packages/core/src/core/tokenLimits.ts) gives 1,048,576
  for every model it knows, and as its default.
- Codex is not listed: its event stream names no model, and its session file reports the window
  (``model_context_window``) in the same event as the first context reading.
"""

from __future__ import annotations

import re

# (pattern on the model name, window in tokens); the first match wins.
KNOWN: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^claude-.*\[1m\]$"), 1_000_000),
    (re.compile(r"^claude-"), 200_000),
    (re.compile(r"^gemini-"), 1_048_576),
)


def known_window(model: str | None) -> int | None:
    """The context window of ``model`` from the table, or None for a model it does not know."""
    if not model:
        return None
    return next((window for pattern, window in KNOWN if pattern.search(model)), None)
