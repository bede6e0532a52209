"""Close-match suggestions for misspelt names ("did you mean ...?").

A spec can hold thousands of unknown names, each to be matched against thousands of layer
names: compared one by one, a 127 KB spec took minutes. So the names are indexed once
(``Candidates``), the cheap guesses (case, CamelCase, swapped or scrambled letters) are
lookups in that index, and difflib's fuzzy comparison, the costly part, draws on a budget
of work a ``Suggester`` holds for one file: once it is spent, the file's later names get only
the cheap guesses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# Names longer than this get no suggestion: a misspelling is short, and the transposed forms
# below grow with the square of a word's length (a 100,000-character name took minutes and gigabytes).
SUGGEST_UP_TO = 100

# The work difflib may do for one file, in units of (word length + 8) x (candidate length + 8) per
# candidate compared (the 8: each comparison's own cost, whatever the lengths): 30 to 130 ns a unit,
# so at most about 0.4 s; some 100 fuzzy suggestions in a spec of a hundred 8-letter names.
FUZZY_BUDGET = 3_000_000
OVERHEAD = 8

CUTOFF = 0.6  # difflib's similarity a candidate needs to be suggested

# Names of training settings (NNC's LRateMultiplier, a learning rate): a suggestion never crosses
# between one of these and a numeric setting of the forward pass, since following it would change
# what the network computes (lrate_multiplier -> multiplier rescales the initial weights).
_TRAINING = re.compile(r"l_?rate|learning|(^|_)lr(_|$)")


def is_training_setting(name: str) -> bool:
    """Whether a name reads as a training setting (a learning rate's), by its snake_case form."""
    return bool(_TRAINING.search(snake_case(name)))


def snake_case(name: str) -> str:
    """NNC's CamelCase property spelling in nnspec's snake_case: OutShape -> out_shape."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Candidates:
    """Names indexed for many suggestions: by case-folded form, by their letters, by length."""

    def __init__(self, names: Iterable[str]):
        self.by_folded: dict[str, list[str]] = {}
        for name in names:
            self.by_folded.setdefault(name.lower(), []).append(name)
        self.by_letters: dict[str, list[str]] = {}
        self.by_length: dict[int, list[str]] = {}
        for folded in self.by_folded:
            if len(folded) > 2:
                self.by_letters.setdefault("".join(sorted(folded)), []).append(folded)
            self.by_length.setdefault(len(folded), []).append(folded)

    def original(self, folded: str, excluding: str | None = None) -> str | None:
        """The name written last with this folded form, other than ``excluding``."""
        names = [name for name in self.by_folded.get(folded, ()) if name != excluding]
        return names[-1] if names else None

    def comparable(self, length: int) -> list[int]:
        """The lengths of names difflib could find close to a word of ``length`` (its real_quick_ratio)."""
        return [n for n in self.by_length if 2 * min(n, length) >= CUTOFF * (n + length)]


class Suggester:
    """Suggestions for one file, sharing one budget of fuzzy comparisons."""

    def __init__(self, budget: int = FUZZY_BUDGET):
        self.budget = budget
        self._indexes: dict[tuple[str, ...], Candidates] = {}

    def closest(self, word: str, candidates: Iterable[str] | Candidates, excluding: str | None = None) -> str | None:
        """The candidate (other than ``excluding``) the user most likely meant, or None when nothing is close."""
        if len(word) > SUGGEST_UP_TO:
            return None
        index = candidates if isinstance(candidates, Candidates) else self._index(candidates)
        match = self._exact(word, index, excluding) or self._fuzzy(word.lower(), index, excluding)
        if match is not None and is_training_setting(word) != is_training_setting(match):
            return None
        return match

    def did_you_mean(self, word: str, candidates: Iterable[str] | Candidates, excluding: str | None = None) -> str:
        """'; did you mean 'X'?' or '' -- ready to append to a message."""
        match = self.closest(word, candidates, excluding)
        return f"; did you mean '{match}'?" if match else ""

    def _index(self, candidates: Iterable[str]) -> Candidates:
        """The index of a candidate list, built once however often the same list is asked about."""
        key = tuple(candidates)
        if key not in self._indexes:
            self._indexes[key] = Candidates(key)
        return self._indexes[key]

    @staticmethod
    def _exact(word: str, index: Candidates, excluding: str | None) -> str | None:
        """Case, CamelCase, a dash for an underscore, two adjacent letters swapped: lookups, no budget."""
        lower = word.lower()
        swapped = [lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :] for i in range(len(lower) - 1)]
        for form in (lower, snake_case(word), lower.replace("-", "_"), *swapped):
            match = index.original(form, excluding)
            if match:
                return match
        return None

    def _fuzzy(self, lower: str, index: Candidates, excluding: str | None) -> str | None:
        """difflib's closest match while the budget lasts, else letters scrambled (thna -> tanh)."""
        lengths = index.comparable(len(lower))
        cost = (len(lower) + OVERHEAD) * sum((n + OVERHEAD) * len(index.by_length[n]) for n in lengths)
        if cost <= self.budget:
            self.budget -= cost
            pool = [f for n in lengths for f in index.by_length[n] if index.original(f, excluding)]
            matches = difflib.get_close_matches(lower, pool, n=1, cutoff=CUTOFF)
            if matches:
                return index.original(matches[0], excluding)
        for folded in index.by_letters.get("".join(sorted(lower)), ()):
            match = index.original(folded, excluding)
            if match:
                return match
        return None


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate the user most likely meant, or None when nothing is close (one question, its own budget)."""
    return Suggester().closest(word, candidates)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'X'?' or '' -- ready to append to a message."""
    return Suggester().did_you_mean(word, candidates)
