"""Close-match suggestions for misspelt names ("did you mean ...?")."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def snake_case(name: str) -> str:
    """NNC's CamelCase property spelling in nnspec's snake_case: OutShape -> out_shape."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate the user most likely meant, or None when nothing is close."""
    candidates = list(candidates)
    folded = {c.lower(): c for c in candidates}
    for form in (word.lower(), snake_case(word), word.lower().replace("-", "_")):
        if form in folded:
            return folded[form]
    matches = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.6)
    return folded[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'X'?' or '' -- ready to append to a message."""
    match = closest(word, candidates)
    return f"; did you mean '{match}'?" if match else ""
