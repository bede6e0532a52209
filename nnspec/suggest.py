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
    if len(word) > 100:  # no misspelling; and the transpositions below take the square of its length
        return None
    candidates = list(candidates)
    folded = {c.lower(): c for c in candidates}
    lower = word.lower()
    swapped = [lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :] for i in range(len(lower) - 1)]
    for form in (lower, snake_case(word), lower.replace("-", "_"), *swapped):  # case, CamelCase, transposed letters
        if form in folded:
            return folded[form]
    matches = difflib.get_close_matches(lower, list(folded), n=1, cutoff=0.6)
    if matches:
        return folded[matches[0]]
    anagrams = [c for c in folded if len(c) > 2 and sorted(c) == sorted(lower)]  # thna -> tanh
    return folded[anagrams[0]] if anagrams else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'X'?' or '' -- ready to append to a message."""
    match = closest(word, candidates)
    return f"; did you mean '{match}'?" if match else ""
