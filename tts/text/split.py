"""Split long text into speakable chunks.

:func:`split_text` cuts text into sentences, then cuts any sentence longer than ``max_chars``
at clause boundaries (``; : — –`` first, then commas), then between words, and as a last resort
inside a word that is itself longer than ``max_chars``. It works on whitespace-separated tokens,
so nothing is lost: joining the chunks with single spaces gives back the input with its
whitespace collapsed (exactly so whenever no single word is longer than ``max_chars``).
"""

from __future__ import annotations

import re

__all__ = ["split_text", "ABBREVIATIONS"]

# Abbreviations after which a full stop never ends a sentence (compared in lower case,
# without the final "."): titles and the like are always followed by more of the sentence.
_NEVER_FINAL = frozenset(
    """
    mr mrs ms mx dr prof st sr jr rev hon gen col lt sgt capt cmdr adm gov sen rep pres supt
    mt ft fig figs no nos vol vols p pp ch sec art eq eqs vs cf e.g i.e viz approx ca dept est
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    """.split()
)
# Abbreviations that may also close a sentence: a split happens when the next word starts
# with a capital letter.
_MAYBE_FINAL = frozenset("etc inc ltd co corp bros a.m p.m u.s u.k u.s.a ph.d b.a m.a b.sc".split())
ABBREVIATIONS = _NEVER_FINAL | _MAYBE_FINAL

_TRAILING_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'“‘«([{¿¡"
_STRONG_CLAUSE_END = (";", ":", "—", "–")
_STANDALONE_DASHES = frozenset({"-", "--", "—", "–", "―"})
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.){2,}$")
_INITIAL = re.compile(r"^[A-Z]\.$")


def _strip_closers(token: str) -> str:
    return token.rstrip(_TRAILING_CLOSERS)


def _first_letter_kind(token: str) -> str:
    """'upper', 'lower' or 'other' (digit, symbol) for the first character after any opener."""
    stripped = token.lstrip(_OPENERS)
    if stripped and stripped[0].isalpha():
        return "upper" if stripped[0].isupper() else "lower"
    return "other"


def _ends_sentence(token: str, nxt: str | None) -> bool:
    """Whether a sentence ends after ``token`` (``nxt`` is the following token, if any)."""
    core = _strip_closers(token)
    if not core or core[-1] not in ".!?…":
        return False
    if nxt is None:
        return True
    nxt_kind = _first_letter_kind(nxt)
    if core[-1] in "!?":
        return nxt_kind != "lower"
    if core.endswith("…") or core.endswith(".."):
        return nxt_kind == "upper"
    # a single full stop
    word = core[:-1].lstrip(_OPENERS)
    low = word.lower()
    if low in _NEVER_FINAL or _INITIAL.match(core):
        return False
    if low in _MAYBE_FINAL or _DOTTED_ACRONYM.match(core):
        return nxt_kind == "upper"
    return nxt_kind != "lower"


def _sentences(tokens: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    current: list[str] = []
    for i, tok in enumerate(tokens):
        current.append(tok)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if _ends_sentence(tok, nxt):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _is_strong_clause_end(token: str) -> bool:
    core = _strip_closers(token)
    return token in _STANDALONE_DASHES or core.endswith(_STRONG_CLAUSE_END)


def _is_comma_end(token: str) -> bool:
    return _strip_closers(token).endswith(",")


def _cut_after(tokens: list[str], boundary) -> list[list[str]]:
    pieces: list[list[str]] = []
    current: list[str] = []
    for i, tok in enumerate(tokens):
        current.append(tok)
        if boundary(tok) and i + 1 < len(tokens):
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    return pieces


def _length(tokens: list[str]) -> int:
    return sum(len(t) for t in tokens) + max(len(tokens) - 1, 0)


def _pack(pieces: list[list[str]], max_chars: int) -> list[list[str]]:
    """Greedily merge consecutive pieces while they fit in max_chars."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        n = _length(piece)
        if current and size + 1 + n <= max_chars:
            current.extend(piece)
            size += 1 + n
        else:
            if current:
                out.append(current)
            current, size = list(piece), n
    if current:
        out.append(current)
    return out


def _split_long(tokens: list[str], max_chars: int, level: int = 0) -> list[list[str]]:
    """Split a token list longer than max_chars, trying boundaries from strongest to weakest."""
    if _length(tokens) <= max_chars:
        return [tokens]
    if level == 0:
        pieces = _cut_after(tokens, _is_strong_clause_end)
    elif level == 1:
        pieces = _cut_after(tokens, _is_comma_end)
    else:
        pieces = [[t] for t in tokens]
    out: list[list[str]] = []
    for group in _pack(pieces, max_chars):
        if _length(group) <= max_chars:
            out.append(group)
        elif level < 2:
            out.extend(_split_long(group, max_chars, level + 1))
        else:  # a single word longer than max_chars: cut it
            word = group[0]
            out.extend([word[i : i + max_chars]] for i in range(0, len(word), max_chars))
    return out


def split_text(text: str, max_chars: int = 200) -> list[str]:
    """Split text into sentences, and over-long sentences into chunks of at most max_chars.

    Sentences end at ``. ! ? …`` (not after abbreviations such as "Dr." or "e.g.", initials,
    or inside numbers such as "3.14"); a sentence longer than ``max_chars`` is cut at
    ``; : — –``, then at commas, then between words (pieces are merged back greedily up to
    ``max_chars``). A word longer than ``max_chars`` is cut into ``max_chars``-long pieces.

    Args:
        text: any text; whitespace (including newlines) is collapsed to single spaces.
        max_chars: the longest chunk allowed (>= 1).

    Returns:
        The chunks, in order, without surrounding whitespace; ``[]`` for blank text.
    """
    if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}")
    tokens = text.split()
    chunks: list[str] = []
    for sentence in _sentences(tokens):
        for group in _split_long(sentence, max_chars):
            chunks.append(" ".join(group))
    return chunks
