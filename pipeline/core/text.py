"""Text normalisation shared by every reader and stage: one definition of "the same words"."""

from __future__ import annotations

import re
import unicodedata


def norm(text: str) -> str:
    """Compare headers and labels robustly: Unicode-normalised, straight quotes, folded case."""
    t = unicodedata.normalize("NFKC", text)
    t = t.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"}))
    return re.sub(r"\s+", " ", t).strip().casefold()
