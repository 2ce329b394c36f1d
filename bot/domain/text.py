"""Pure text helpers for chat commands: tolerant of full-width input and stray spaces."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# What must not travel into storage or a group: ANSI escape sequences (they repaint a
# terminal reading the logs), bidi overrides and isolates (they reverse what a group reads),
# and every other control character, NUL included (PostgreSQL refuses it in text).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f"
                        "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LEADING_MENTION = re.compile(r"^(?:@\S+\s*)+")


def normalize(text: str) -> str:
    """Fold full-width letters, digits and spaces (NFKC), drop control characters, collapse
    blanks, trim."""
    folded = unicodedata.normalize("NFKC", strip_controls(text or ""))
    return _SPACES.sub(" ", folded).strip()


def strip_controls(text: str) -> str:
    """Text without ANSI escapes, bidi controls, lone surrogates or other control characters
    (tabs and line breaks stay)."""
    return _INVISIBLE.sub("", _ANSI.sub("", text))


def strip_leading_mentions(text: str) -> str:
    """Drop the '@bot ' the platforms leave at the start of a group message."""
    return _LEADING_MENTION.sub("", text).strip()
