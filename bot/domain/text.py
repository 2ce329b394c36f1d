"""Pure text helpers for chat commands: tolerant of full-width input and stray spaces."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_LEADING_MENTION = re.compile(r"^(?:@\S+\s*)+")


def normalize(text: str) -> str:
    """Fold full-width letters, digits and spaces (NFKC), collapse blanks, trim."""
    folded = unicodedata.normalize("NFKC", text or "")
    return _SPACES.sub(" ", folded).strip()


def strip_leading_mentions(text: str) -> str:
    """Drop the '@bot ' the platforms leave at the start of a group message."""
    return _LEADING_MENTION.sub("", text).strip()
