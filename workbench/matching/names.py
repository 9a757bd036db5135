"""Names for matching: folded tokens, nickname-canonical keys, and what a comparison means.

A name becomes tokens with :func:`workbench.normalize.name_key` (case and diacritics folded,
hyphens and dots split: "Svensson-Berg" → ``svensson berg``, "A." → ``a``); a token that is a
nickname or spelling variant of a given name is replaced by the formal name for comparison
(:func:`workbench.nicknames.canonical`). The scorer classifies every candidate pair vectorised into
one of the :data:`KINDS`; :func:`explain` turns a kind into one plain sentence for the evidence,
e.g. "First name Kalle is a nickname of Karl".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from .. import nicknames
from ..fields import PARTICLES, join_name, split_name
from ..normalize import is_missing, name_display, name_key

__all__ = ["NameParts", "KINDS", "AGREEMENT", "hr_name_parts", "kleer_name_parts", "explain",
           "folded_tokens", "made_of_name", "hr_names", "kleer_names"]

#: How two names compare, strongest first, with the agreement each kind counts as.
AGREEMENT: Mapping[str, str] = {
    "identical": "exact",     # same tokens after folding case and diacritics
    "same": "strong",         # same name parts: swapped order, nicknames, spelling variants
    "part": "strong",         # one name contains the other (double first name, double surname)
    "typo": "strong",         # nearly identical (similarity ≥ 90)
    "initial": "partial",     # an initial stands for a first name ("A. Svensson")
    "first": "partial",       # first name matches, last name differs (a changed surname)
    "last": "partial",        # last name matches, first name differs
    "close": "partial",       # similar (≥ 80)
    "weak": "none",           # somewhat similar (60–80): neither for nor against
    "different": "conflict",  # clearly different (< 60)
}
KINDS = tuple(AGREEMENT)


@lru_cache(maxsize=65536)
def folded_tokens(word: str) -> tuple[str, ...]:
    """Folded tokens of one word or name ("Svensson-Berg" → ("svensson", "berg"))."""
    return tuple(name_key(word).split())


_WORD = re.compile(r"\w+")


def _display_tokens(text: str | None) -> list[str]:
    return _WORD.findall(text or "")


@lru_cache(maxsize=1 << 16)
def _canon(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(map(nicknames.canonical, tokens))


class NameParts(NamedTuple):
    """One side's name, ready for comparison (build it with :func:`hr_name_parts` or
    :func:`kleer_name_parts`).

    ``display`` is the name as shown; ``tokens`` folded; ``canon`` with nicknames replaced by the
    formal name; ``first_tokens``/``last_tokens`` the folded tokens of the first and last name
    (Kleer's one name is split with :func:`workbench.fields.split_name`), ``first``/``last`` the
    same after nicknames. The keys are what the scorer compares: ``folded`` (identical names),
    ``sorted_key`` (canonical tokens sorted: swapped names and nicknames give the same key),
    ``ordered_key``, ``initials_key`` (first names as initials, last name kept, sorted).

    A named tuple rather than a frozen dataclass: prepare makes one per distinct name (tens of
    thousands), and a tuple is made several times faster.
    """

    display: str
    tokens: tuple[str, ...]
    first_tokens: tuple[str, ...]
    last_tokens: tuple[str, ...]
    last_display: str
    canon: tuple[str, ...]
    first: tuple[str, ...]
    last: tuple[str, ...]
    folded: str
    sorted_key: str
    ordered_key: str
    initials_key: str
    first_key: str
    last_key: str

    def shown(self, token: str) -> str:
        """How a folded token is written in the display name (title case when not found)."""
        for word in _display_tokens(self.display):
            if folded_tokens(word) == (token,):
                return word
        return token.title()

    def shown_first(self) -> str:
        """:meth:`shown` of every first-name token, joined ("–" without any)."""
        if not self.first_tokens:
            return "–"
        written: dict[str, str] = {}
        for word in _display_tokens(self.display):  # the first word folding to a token wins
            folded = folded_tokens(word)
            if len(folded) == 1:
                written.setdefault(folded[0], word)
        return " ".join(written.get(t) or t.title() for t in self.first_tokens) or "–"


#: (shown, folded tokens, canonical tokens, the folded tokens joined, the canonical joined,
#: the initials of the folded tokens)
Piece = tuple[str | None, tuple[str, ...], tuple[str, ...], str, str, tuple[str, ...]]


@lru_cache(maxsize=1 << 17)
def _piece(text: Any) -> Piece:
    """One first or last name: as displayed (:func:`name_display`), its folded tokens and their
    canonical (nickname-free) forms. ``name_display`` gives back what it is given when that is
    already displayed, so a piece of a displayed name is the name's own piece."""
    shown = name_display(text)
    tokens = folded_tokens(shown) if shown else ()
    canon = _canon(tokens)
    return shown, tokens, canon, " ".join(tokens), " ".join(canon), tuple(t[0] for t in tokens)


def _space(a: str, b: str) -> str:
    """``a`` and ``b`` joined by a space, either alone when the other is empty."""
    return f"{a} {b}" if a and b else a or b


def _combine(first: Piece, last: Piece, display: str | None) -> NameParts:
    _, first_t, first_c, first_tj, first_cj, first_i = first
    last_shown, last_t, last_c, last_tj, last_cj, _ = last
    tokens = first_t + last_t
    canon = first_c + last_c
    # the joined keys from the pieces' own joins (tokens are never empty, so joining the two
    # joins is joining all tokens)
    return _new(NameParts, (
        display or "", tokens, first_t, last_t, last_shown or "", canon, first_c, last_c,
        _space(first_tj, last_tj), " ".join(sorted(canon)), _space(first_cj, last_cj),
        " ".join(sorted(first_i + last_c)), first_cj, last_cj))


_new = tuple.__new__  # a NameParts from its fields in order, without the keyword call


def _parts(first: str | None, last: str | None, display: str | None) -> NameParts:
    """``first`` and ``last`` as displayed (:func:`name_display`); ``display`` is the two joined
    (Kleer's name is split, never re-joined), so its tokens are theirs."""
    return _combine(_piece(first), _piece(last), display)


def _joined(first: Piece, last: Piece) -> str | None:
    """:func:`workbench.fields.join_name` of two displayed pieces."""
    return " ".join([p for p in (first[0], last[0]) if p]) or None


@lru_cache(maxsize=1 << 17)
def hr_name_parts(first: Any, last: Any) -> NameParts:
    """An HR employee's name from its first and last name."""
    f, l = _piece(first), _piece(last)
    return _combine(f, l, _joined(f, l))


@lru_cache(maxsize=1 << 17)
def kleer_name_parts(name: Any, first: Any = None, last: Any = None) -> NameParts:
    """A Kleer user's name from its one ``name`` (or, when that is missing, first + last)."""
    display = name_display(name) if not is_missing(name) else join_name(first, last)
    return _parts(*split_name(display), display)


def _distinct(*columns: Sequence[Any]) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    """The distinct rows of ``columns`` (first seen first) and each row's index among them."""
    seen: dict[tuple[Any, ...], int] = {}
    codes = np.fromiter((seen.setdefault(row, len(seen)) for row in zip(*columns)), dtype=np.intp,
                        count=len(columns[0]))
    return list(seen), codes


def hr_names(first: Sequence[Any], last: Sequence[Any]) -> tuple[list[NameParts], np.ndarray]:
    """:func:`hr_name_parts` of every (first, last), worked out once per distinct pair (and each
    distinct first and last name once): the distinct names and each row's index among them."""
    pairs, codes = _distinct(first, last)
    out = []
    for f, l in pairs:
        pf, pl = _piece(f), _piece(l)
        out.append(_named(pf[0], pl[0], _joined(pf, pl)))
    return out, codes


@lru_cache(maxsize=1 << 17)
def _named(first: str | None, last: str | None, display: str | None) -> NameParts:
    """The name of displayed first and last name pieces: one per distinct name, so a Kleer
    name written as its HR record has it is worked out once for both sides."""
    return _combine(_piece(first), _piece(last), display)


def kleer_names(name: Sequence[Any], first: Sequence[Any], last: Sequence[Any]
                ) -> tuple[list[NameParts], np.ndarray]:
    """:func:`kleer_name_parts` of every (name, first, last), once per distinct triple: the
    distinct names and each row's index among them."""
    triples, codes = _distinct(name, first, last)
    return [_kleer_name(*t) for t in triples], codes


def _kleer_name(name: Any, first: Any, last: Any) -> NameParts:
    """:func:`kleer_name_parts`, with the common case (the name is text) in fewer steps: the
    name displayed once (:func:`name_display` gives a displayed name back unchanged, so
    :func:`~workbench.fields.split_name` need not display it again) and split in place."""
    if type(name) is not str or not (text := name.strip()):
        return kleer_name_parts(name, first, last)
    display = " ".join((text if text.isascii() else unicodedata.normalize("NFC", text)).split())
    words = display.split(" ")
    if len(words) == 1:
        return _named(words[0], None, display)
    cut = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i].casefold() in PARTICLES:
            cut = i
            break
    return _named(" ".join(words[:cut]), " ".join(words[cut:]), display)


def made_of_name(text: str, tokens: tuple[str, ...]) -> bool:
    """Whether ``text`` (an email local part) is nothing but the name: its letters are the name's
    tokens or their initials, each at most once, in any order, and it has no digits
    ("anna.svensson", "a.svensson", "svensson_anna"; not "anna85", not "nalle")."""
    if not text or not tokens or any(ch.isdigit() for ch in text):
        return False
    letters = "".join(name_key(text).split())
    pieces = tuple(dict.fromkeys(tokens))

    def rest(s: str, unused: frozenset[int]) -> bool:
        if not s:
            return True
        for i in unused:
            t = pieces[i]
            for part in (t, t[0]) if len(t) > 1 else (t,):
                if s.startswith(part) and rest(s[len(part):], unused - {i}):
                    return True
        return False

    return rest(letters, frozenset(range(len(pieces))))


# --------------------------------------------------------------------------- sentences

def _pair(hr: NameParts, kleer: NameParts) -> str:
    return f"HR {hr.display or '–'}, Kleer {kleer.display or '–'}"


def _nickname_sentence(hr: NameParts, kleer: NameParts) -> str | None:
    for a in hr.tokens:
        for b in kleer.tokens:
            rel = nicknames.relation(a, b)
            if rel is None:
                continue
            sa, sb = hr.shown(a), kleer.shown(b)
            if rel == "variant":
                return f"First name {sb} is a spelling variant of {sa}"
            if rel == "same-nickname":
                return f"First names {sa} and {sb} are both short for {nicknames.formal_name(a)}"
            nick, full = (sb, sa) if nicknames.is_nickname(b) else (sa, sb)
            return f"First name {nick} is a nickname of {full}"
    return None


def _part_sentence(hr: NameParts, kleer: NameParts) -> str:
    for short, long_ in ((hr, kleer), (kleer, hr)):
        extra = set(long_.tokens) - set(short.tokens)
        if len(long_.last_tokens) > 1 and extra and extra <= set(long_.last_tokens):
            common = [t for t in long_.last_tokens if t in set(short.tokens)]
            if common:
                return (f"Last name {short.shown(common[0])} matches one part of "
                        f"{long_.last_display}")
    shorter, longer = (hr, kleer) if len(hr.tokens) < len(kleer.tokens) else (kleer, hr)
    side = "HR" if shorter is hr else "Kleer"
    other = "Kleer" if side == "HR" else "HR"
    return f"{side} name {shorter.display} is part of {other} name {longer.display}"


def _initial_sentence(hr: NameParts, kleer: NameParts) -> str:
    for short, long_ in ((kleer, hr), (hr, kleer)):
        for t in short.tokens:
            if len(t) == 1:
                full = next((u for u in long_.first_tokens if u[0] == t and len(u) > 1), None) \
                    or next((u for u in long_.tokens if u[0] == t and len(u) > 1), None)
                if full:
                    return f"Initial {t.upper()}. matches first name {long_.shown(full)}"
    return f"Initials match ({_pair(hr, kleer)})"


def _typo_sentence(hr: NameParts, kleer: NameParts) -> str:
    from rapidfuzz import fuzz

    only_hr = [t for t in hr.tokens if t not in kleer.tokens]
    only_kleer = [t for t in kleer.tokens if t not in hr.tokens]
    if len(only_hr) == 1 and len(only_kleer) == 1:
        a, b = only_hr[0], only_kleer[0]
        if fuzz.ratio(a, b) >= 60:
            label = "Last name" if a in hr.last_tokens else "First name"
            return f"{label} {kleer.shown(b)} is close to {hr.shown(a)} (likely a typo)"
    return f"Names nearly identical, likely a typo ({_pair(hr, kleer)})"


def explain(kind: str, hr: NameParts, kleer: NameParts) -> str:
    """One plain sentence for a name comparison of the given kind."""
    if kind == "identical":
        if hr.display == kleer.display:
            return f"Name identical ({hr.display})"
        return f"Name identical apart from case and accents ({_pair(hr, kleer)})"
    if kind == "same":
        sentences = []
        nick = _nickname_sentence(hr, kleer)
        if nick:
            sentences.append(nick)
        if set(hr.first) & set(kleer.last) and set(hr.last) & set(kleer.first):
            sentences.append(f"first and last name swapped ({_pair(hr, kleer)})")
        if not sentences:
            return f"Same name parts ({_pair(hr, kleer)})"
        text = "; ".join(sentences)
        return text[0].upper() + text[1:]
    if kind == "part":
        return _part_sentence(hr, kleer)
    if kind == "initial":
        return _initial_sentence(hr, kleer)
    if kind == "typo":
        return _typo_sentence(hr, kleer)
    if kind == "first":
        return (f"First name {hr.shown_first()} matches; last name differs "
                f"(HR {hr.last_display or '–'}, Kleer {kleer.last_display or '–'})")
    if kind == "last":
        return (f"Last name {hr.last_display} matches; first name differs "
                f"(HR {hr.shown_first()}, Kleer {kleer.shown_first()})")
    if kind == "close":
        return f"Names similar ({_pair(hr, kleer)})"
    return f"Names differ ({_pair(hr, kleer)})"
