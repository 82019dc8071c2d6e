"""Symbol tables: phoneme tokens <-> integer ids.

The ids are part of the checkpoint contract: a model's embedding rows are indexed by them, so a
checkpoint stores its table (:meth:`SymbolTable.to_dict`) and gets the exact same ids back
(:meth:`SymbolTable.from_dict`). The built-in inventories below may only ever be *appended to*;
never reorder, rename or remove an entry.

Layout of every table::

    0 <pad>   1 <unk>   2 <bos>   3 <eos>      reserved specials
    4 " "                                      word separator
    5..11  ? ! . ; : - ,                       prosody punctuation (see tts.text.g2p)
    12..   phonemes of the backend             ARPAbet (g2p_en) or IPA characters (espeak)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from tts.errors import CheckpointError, TextError

__all__ = [
    "SymbolTable",
    "SPECIALS",
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "SPACE",
    "PUNCTUATION",
    "ARPABET",
    "IPA",
    "ARPA_VOWELS",
    "phone_class",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
SPACE = " "
# Same tokens (and order) as tts.text.g2p.PUNCTUATION; kept literal here because ids hang on it.
PUNCTUATION: tuple[str, ...] = ("?", "!", ".", ";", ":", "-", ",")

ARPA_VOWELS = tuple("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
_ARPA_CONSONANTS = tuple("B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split())
# The 39 CMU phonemes, vowels with lexical stress 0/1/2: 15 * 3 + 24 = 69 symbols.
ARPABET: tuple[str, ...] = tuple(
    sorted([v + s for v in ARPA_VOWELS for s in "012"] + list(_ARPA_CONSONANTS))
)

# Characters espeak-ng emits (checked over all its voices) plus the rest of the IPA chart.
# One entry per Unicode character (NFC). Append only.
IPA: tuple[str, ...] = tuple(
    # plain Latin letters (espeak writes most common phonemes with them)
    list("abcdefghijklmnopqrstuvwxyz")
    # vowels
    + list("æɐɑɒɔɘəɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏøœᵻᵿ")
    # consonants
    + list("çðħŋɓɕɖɗɟɠɡɢɣɥɦɧɫɬɭɮɰɱɲɳɴɸɹɺɻɽɾʀʁʂʃʄʈʋʍʎʐʑʒʔʕʙʛʜʝʟʡʢʘǀǁǂǃβθχⱱ")
    # affricate ligatures
    + list("ʦʣʧʤʨʥ")
    # precomposed letters espeak uses (NFC): nasal and centralized vowels
    + list("ãẽĩõũäëïöüε")
    # suprasegmentals and modifier letters: stress, length, aspiration, secondary articulation
    + list("ˈˌːˑʰʱʲʷˠˤⁿˡʼ˞ˀ")
    # combining diacritics (each its own token, following the letter it modifies)
    + [
        "\u0303",  # nasalized
        "\u030a",  # voiceless (ring above)
        "\u0325",  # voiceless (ring below)
        "\u032c",  # voiced
        "\u031d",  # raised
        "\u031e",  # lowered
        "\u031f",  # advanced
        "\u0320",  # retracted
        "\u0329",  # syllabic
        "\u032f",  # non-syllabic
        "\u032a",  # dental
        "\u033a",  # apical
        "\u033b",  # laminal
        "\u033c",  # linguolabial
        "\u0308",  # centralized
        "\u033d",  # mid-centralized
        "\u031a",  # no audible release
        "\u0324",  # breathy voiced
        "\u0330",  # creaky voiced
        "\u0339",  # more rounded
        "\u031c",  # less rounded
        "\u0318",  # advanced tongue root
        "\u0319",  # retracted tongue root
        "\u0361",  # tie bar above
        "\u035c",  # tie bar below
        "\u0306",  # extra short
        "\u030b",  # extra high tone
        "\u0301",  # high tone
        "\u0304",  # mid tone
        "\u0300",  # low tone
        "\u030f",  # extra low tone
    ]
    # tones: espeak writes tone numbers for cmn, yue, vi, th, ...; IPA tone letters
    + list("123456789")
    + list("˥˦˧˨˩ꜛꜜ")
    # linking and prosodic breaks
    + list("‿‖|↗↘")
)

_INVENTORIES: dict[str, tuple[str, ...]] = {"g2p_en": ARPABET, "espeak": IPA}

_IPA_VOWELS = frozenset("aeiouy" "æɐɑɒɔɘəɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏøœᵻᵿ" "ãẽĩõũäëïöüε")
_IPA_CONSONANTS = frozenset(
    "bcdfghjklmnpqrstvwxz"
    "çðħŋɓɕɖɗɟɠɡɢɣɥɦɧɫɬɭɮɰɱɲɳɴɸɹɺɻɽɾʀʁʂʃʄʈʋʍʎʐʑʒʔʕʙʛʜʝʟʡʢʘǀǁǂǃβθχⱱ" "ʦʣʧʤʨʥ")


def phone_class(symbol: str) -> str | None:
    """``"vowel"`` or ``"consonant"`` for a phoneme token of either inventory (ARPAbet vowels
    carry a stress digit), None for anything else (specials, space, punctuation, IPA stress,
    length and diacritic marks)."""
    if symbol[:-1] in ARPA_VOWELS and symbol[-1:] in ("0", "1", "2") or symbol in _IPA_VOWELS:
        return "vowel"
    if symbol in _ARPA_CONSONANTS or symbol in _IPA_CONSONANTS:
        return "consonant"
    return None


_UNKNOWN_MODES = ("error", "skip", "unk")


def _warning_category() -> type[Warning]:
    try:
        from tts.text.normalize import UnknownCharacterWarning
    except ImportError:  # pragma: no cover - normalize is part of the package
        return UserWarning
    return UnknownCharacterWarning


class SymbolTable:
    """An ordered list of symbols; a symbol's id is its position.

    Use :meth:`for_backend` for the built-in tables and :meth:`from_dict` to restore one saved
    with :meth:`to_dict`. Tables are immutable and compare equal when backend and symbols match.
    """

    __slots__ = ("_backend", "_symbols", "_ids")

    def __init__(self, symbols: Sequence[str], backend: str) -> None:
        """Build a table from ``symbols`` (specials first) for ``backend``.

        Raises:
            ValueError: the list does not start with the reserved specials, has duplicates,
                or holds something other than non-empty strings.
        """
        symbols = tuple(symbols)
        if not isinstance(backend, str) or not backend:
            raise ValueError(f"backend must be a non-empty string, got {backend!r}")
        if symbols[: len(SPECIALS)] != SPECIALS:
            raise ValueError(f"a symbol table must start with the specials {list(SPECIALS)}")
        for s in symbols:
            if not isinstance(s, str) or not s:
                raise ValueError(f"symbols must be non-empty strings, got {s!r}")
        ids = {s: i for i, s in enumerate(symbols)}
        if len(ids) != len(symbols):
            seen: set[str] = set()
            dupes = sorted({s for s in symbols if s in seen or seen.add(s)})
            raise ValueError(f"duplicate symbols in table: {dupes}")
        self._backend = backend
        self._symbols = symbols
        self._ids = ids

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def for_backend(cls, backend: str) -> SymbolTable:
        """The built-in table for a G2P backend: ``"g2p_en"`` (ARPAbet) or ``"espeak"`` (IPA)."""
        try:
            phonemes = _INVENTORIES[backend]
        except KeyError:
            raise TextError(
                f"no symbol table for backend {backend!r}; choose one of: {', '.join(_INVENTORIES)}"
            ) from None
        return cls(SPECIALS + (SPACE,) + PUNCTUATION + phonemes, backend)

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able description: ``{"backend": ..., "symbols": [...]}``."""
        return {"backend": self._backend, "symbols": list(self._symbols)}

    @classmethod
    def from_dict(cls, d: Any) -> SymbolTable:
        """Restore a table saved with :meth:`to_dict`, with the very same ids.

        Strict: exactly the keys ``backend`` and ``symbols``, a known backend, a list of unique
        non-empty strings starting with the specials.

        Raises:
            CheckpointError: the description is malformed.
        """
        if not isinstance(d, dict):
            raise CheckpointError(f"symbol table must be a dict, got {type(d).__name__}")
        keys = set(d)
        if keys != {"backend", "symbols"}:
            raise CheckpointError(
                f"symbol table must have exactly the keys 'backend' and 'symbols', got {sorted(map(str, keys))}"
            )
        backend, symbols = d["backend"], d["symbols"]
        if backend not in _INVENTORIES:
            raise CheckpointError(
                f"symbol table for unknown backend {backend!r}; expected one of: {', '.join(_INVENTORIES)}"
            )
        if not isinstance(symbols, list):
            raise CheckpointError(
                f"symbol table 'symbols' must be a list, got {type(symbols).__name__}"
            )
        try:
            return cls(symbols, backend)
        except ValueError as exc:
            raise CheckpointError(f"invalid symbol table: {exc}") from None

    # -- lookups ----------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The G2P backend whose tokens this table encodes."""
        return self._backend

    @property
    def symbols(self) -> tuple[str, ...]:
        """All symbols, in id order."""
        return self._symbols

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>`` (always 0)."""
        return 0

    @property
    def unk_id(self) -> int:
        """Id of ``<unk>``."""
        return 1

    @property
    def bos_id(self) -> int:
        """Id of ``<bos>``."""
        return 2

    @property
    def eos_id(self) -> int:
        """Id of ``<eos>``."""
        return 3

    def id(self, symbol: str) -> int:
        """The id of one symbol (TextError if it is not in the table)."""
        try:
            return self._ids[symbol]
        except KeyError:
            raise TextError(
                f"symbol {symbol!r} is not in the {self._backend} symbol table"
            ) from None

    def encode(self, tokens: Iterable[str], unknown: str = "error") -> list[int]:
        """Map tokens to ids.

        Args:
            tokens: e.g. the output of :func:`tts.text.to_phonemes`.
            unknown: what to do with a token not in the table: ``"error"`` (TextError naming
                it), ``"skip"`` (drop it, with one warning listing the dropped tokens) or
                ``"unk"`` (use ``<unk>``).
        """
        if unknown not in _UNKNOWN_MODES:
            raise ValueError(f"unknown must be one of {_UNKNOWN_MODES}, got {unknown!r}")
        ids: list[int] = []
        missing: list[str] = []
        for tok in tokens:
            i = self._ids.get(tok)
            if i is not None:
                ids.append(i)
            elif unknown == "error":
                raise TextError(
                    f"token {tok!r} (U+{ord(tok[0]):04X}{'...' if len(tok) > 1 else ''}) is not "
                    f"in the {self._backend} symbol table"
                    if tok
                    else f"empty token is not in the {self._backend} symbol table"
                )
            elif unknown == "unk":
                ids.append(self.unk_id)
            else:
                missing.append(tok)
        if missing:
            shown = ", ".join(repr(t) for t in dict.fromkeys(missing))
            warnings.warn(
                f"skipped {len(missing)} token(s) not in the {self._backend} symbol table: {shown}",
                _warning_category(),
                stacklevel=2,
            )
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to tokens (TextError for an id outside the table)."""
        out = []
        n = len(self._symbols)
        for i in ids:
            j = int(i)
            if not 0 <= j < n:
                raise TextError(f"symbol id {j} is out of range for a table of {n} symbols")
            out.append(self._symbols[j])
        return out

    # -- dunder -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._ids

    def __iter__(self):
        return iter(self._symbols)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SymbolTable):
            return NotImplemented
        return self._backend == other._backend and self._symbols == other._symbols

    def __hash__(self) -> int:
        return hash((self._backend, self._symbols))

    def __repr__(self) -> str:
        return f"SymbolTable(backend={self._backend!r}, size={len(self._symbols)})"
