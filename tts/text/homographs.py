"""Homograph corrections for g2p-en: a table of fixed entries and context rules.

g2p-en picks a homograph's pronunciation from its POS tag; its table has inverted and wrong
entries (past-tense "read" as R IY1 D among them). ``HOMOGRAPH_FIXES`` replaces or extends those
entries on the G2p instance, and ``resolve_context`` decides the cases a tag alone cannot.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Homographs
#
# g2p-en resolves a homograph with a table ``word -> (pron1, pron2, pos1)``: pron1 when the
# Penn-Treebank tag starts with pos1, pron2 otherwise. ``str.startswith`` also takes a tuple, so
# pos1 may be a tuple of prefixes. These entries replace or extend g2p-en's homographs.en on the
# G2p instance (the installed package is not modified).
# ---------------------------------------------------------------------------------------------
_V = "V"  # any verb tag: VB VBD VBG VBN VBP VBZ
HOMOGRAPH_FIXES: dict[str, tuple[str, str, str | tuple[str, ...]]] = {
    # -- inverted in g2p-en (the verb reading was given to the noun/adjective) --
    "read": ("R EH1 D", "R IY1 D", ("VBD", "VBN")),  # was: VBD -> R IY1 D (inverted)
    "analyses": ("AE1 N AH0 L AY2 Z IH0 Z", "AH0 N AE1 L AH0 S IY2 Z", _V),
    "articulate": ("AA0 R T IH1 K Y AH0 L EY2 T", "AA0 R T IH1 K Y AH0 L AH0 T", _V),
    "blessed": ("B L EH1 S T", "B L EH1 S IH0 D", "VBD"),
    "certificate": ("S ER0 T IH1 F IH0 K EY2 T", "S ER0 T IH1 F IH0 K AH0 T", _V),
    "counterbalance": ("K AW2 N T ER0 B AE1 L AH0 N S", "K AW1 N T ER0 B AE2 L AH0 N S", _V),
    "dogged": ("D AO1 G D", "D AO1 G IH0 D", _V),
    "exploit": ("IH0 K S P L OY1 T", "EH1 K S P L OY2 T", _V),
    "exploits": ("IH0 K S P L OY1 T S", "EH1 K S P L OY2 T S", _V),
    "fragment": ("F R AE0 G M EH1 N T", "F R AE1 G M AH0 N T", _V),
    "imprint": ("IH2 M P R IH1 N T", "IH1 M P R IH0 N T", _V),
    "learned": ("L ER1 N D", "L ER1 N IH0 D", _V),
    "misconduct": ("M IH2 S K AH0 N D AH1 K T", "M IH0 S K AA1 N D AH0 K T", _V),
    "misuse": ("M IH0 S Y UW1 Z", "M IH0 S Y UW1 S", _V),
    "mouth": ("M AW1 DH", "M AW1 TH", _V),
    "object": ("AH0 B JH EH1 K T", "AA1 B JH EH0 K T", _V),
    "pontificate": ("P AA0 N T IH1 F AH0 K EY2 T", "P AA0 N T IH1 F AH0 K AH0 T", _V),
    "precipitate": ("P R IH0 S IH1 P IH0 T EY2 T", "P R IH0 S IH1 P IH0 T AH0 T", _V),
    "predicate": ("P R EH1 D IH0 K EY2 T", "P R EH1 D IH0 K AH0 T", _V),
    "rebel": ("R IH0 B EH1 L", "R EH1 B AH0 L", _V),
    "segment": ("S EH0 G M EH1 N T", "S EH1 G M AH0 N T", _V),
    "subcontract": ("S AH2 B K AA0 N T R AE1 K T", "S AH1 B K AA2 N T R AE0 K T", _V),
    "torment": ("T AO0 R M EH1 N T", "T AO1 R M EH2 N T", _V),
    # -- wrong phonemes or tags in g2p-en --
    "absent": ("AE0 B S EH1 N T", "AE1 B S AH0 N T", _V),  # verb had two primary stresses
    "aggregate": ("AE1 G R AH0 G EY2 T", "AE1 G R AH0 G AH0 T", _V),
    "alternate": ("AO1 L T ER0 N EY2 T", "AO1 L T ER0 N AH0 T", _V),  # US adjective
    "combats": ("K AH0 M B AE1 T S", "K AA1 M B AE0 T S", _V),
    "complex": ("K AH0 M P L EH1 K S", "K AA1 M P L EH0 K S", "JJ"),  # tag was "ADJ": never hit
    "curate": ("K Y UH0 R EY1 T", "K Y UH1 R AH0 T", _V),
    "diagnoses": ("D AY2 AH0 G N OW1 S IH0 Z", "D AY2 AH0 G N OW1 S IY2 Z", _V),
    "entrance": ("IH0 N T R AE1 N S", "EH1 N T R AH0 N S", _V),
    "entrances": ("IH0 N T R AE1 N S IH0 Z", "EH1 N T R AH0 N S IH0 Z", _V),
    "envelope": ("EH1 N V AH0 L OW2 P", "EH1 N V AH0 L OW2 P", _V),  # verb reading is "envelop"
    "envelopes": ("EH1 N V AH0 L OW2 P S", "EH1 N V AH0 L OW2 P S", _V),
    "excise": ("IH0 K S AY1 Z", "EH1 K S AY2 Z", _V),
    "frequent": ("F R IY0 K W EH1 N T", "F R IY1 K W AH0 N T", _V),
    "interchange": ("IH2 N T ER0 CH EY1 N JH", "IH1 N T ER0 CH EY2 N JH", _V),  # lacked N
    "interchanges": ("IH2 N T ER0 CH EY1 N JH IH0 Z", "IH1 N T ER0 CH EY2 N JH IH0 Z", _V),
    "mandate": ("M AE1 N D EY2 T", "M AE1 N D EY2 T", _V),
    "perfect": ("P ER0 F EH1 K T", "P ER1 F IH0 K T", _V),
    "prefixes": ("P R IY2 F IH1 K S IH0 Z", "P R IY1 F IH0 K S IH0 Z", _V),  # ended in JH
    "presage": ("P R IH0 S EY1 JH", "P R EH1 S IH0 JH", _V),
    "presages": ("P R IH0 S EY1 JH IH0 Z", "P R EH1 S IH0 JH IH0 Z", _V),  # ended in JH
    "process": ("P R AA1 S EH2 S", "P R AA1 S EH2 S", _V),  # verb "to process" is not pro-CESS
    "processes": ("P R AA1 S EH0 S AH0 Z", "P R AA1 S EH0 S AH0 Z", _V),
    "processing": ("P R AA1 S EH0 S IH0 NG", "P R AA1 S EH0 S IH0 NG", _V),
    "recount": ("R IY2 K AW1 N T", "R IY1 K AW2 N T", _V),
    "recounts": ("R IY2 K AW1 N T S", "R IY1 K AW2 N T S", _V),
    "refuse": ("R IH0 F Y UW1 Z", "R EH1 F Y UW2 S", _V),  # the noun ends in S
    "underestimate": ("AH2 N D ER0 EH1 S T AH0 M EY2 T", "AH2 N D ER0 EH1 S T AH0 M AH0 T", _V),
    "underestimates": (
        "AH2 N D ER0 EH1 S T AH0 M EY2 T S",
        "AH2 N D ER0 EH1 S T AH0 M AH0 T S",
        _V,
    ),
    "unused": ("AH0 N Y UW1 Z D", "AH0 N Y UW1 Z D", _V),  # adjective is tagged JJ: was S T
    "used": ("Y UW1 Z D", "Y UW1 Z D", _V),  # "used to" is handled in context
    # -- homographs g2p-en does not know (the CMU dictionary's first entry is often wrong) --
    "bow": ("B AW1", "B OW1", _V),
    "bows": ("B AW1 Z", "B OW1 Z", _V),
    "dove": ("D OW1 V", "D AH1 V", ("VBD", "VBN")),
    "invalid": ("IH1 N V AH0 L IH0 D", "IH0 N V AE1 L AH0 D", "NN"),
    "lead": ("L IY1 D", "L EH1 D", (_V, "JJ")),
    "live": ("L IH1 V", "L AY1 V", _V),
    "lives": ("L IH1 V Z", "L AY1 V Z", _V),
    "minute": ("M AY0 N UW1 T", "M IH1 N AH0 T", "JJ"),
    "polish": ("P AA1 L IH0 SH", "P AA1 L IH0 SH", _V),  # "Polish" is handled in context
    "sow": ("S OW1", "S AW1", _V),
    "sows": ("S OW1 Z", "S AW1 Z", _V),
    "tear": ("T EH1 R", "T IH1 R", _V),
    "tears": ("T EH1 R Z", "T IH1 R Z", _V),
    "wind": ("W AY1 N D", "W IH1 N D", _V),
    "winds": ("W AY1 N D Z", "W IH1 N D Z", _V),
    "wound": ("W AW1 N D", "W UW1 N D", ("VBD", "VBN")),
}

# A sentence-initial homograph followed by one of these is an imperative verb ("Close the
# door.", "Wind the clock."); the tagger often calls it a noun or a proper noun.
_IMPERATIVE_NEXT = frozenset(
    "the a an this that these those my your his her its our their it them him me us "
    "every each some all".split()
)
_MODAL_BEFORE = frozenset(
    "to will would can could shall should may might must do does did don't doesn't didn't "
    "won't wouldn't can't cannot couldn't shouldn't let's please 'll".split()
)
_PAST_MARKERS = frozenset("yesterday ago last earlier previously formerly".split())
_HAVE = frozenset("have has had having 've 'd".split())
_BE_GET = frozenset(
    "am is are was were be been being 'm 're 's get gets got gotten getting become became".split()
)
_THIRD_PERSON = frozenset("he she it".split())


def context_tag(words: list[tuple[str, str]], i: int, sentence_start: bool) -> str:
    """The tag to use for homograph ``i``, with the imperative correction."""
    tag = words[i][1]
    if sentence_start and i + 1 < len(words) and words[i + 1][0].lower() in _IMPERATIVE_NEXT:
        return "VB"
    return tag


def resolve_context(
    lower: str, original: str, tag: str, prev: str, nxt: str, after_tag: str, sentence: list[str]
) -> str | None:
    """Context rules the tag alone cannot decide; None falls through to the table.

    ``prev``/``nxt`` are the neighbouring words (lower case, "" at punctuation), ``after_tag``
    the tag of the word after ``nxt`` and ``sentence`` the words of the whole sentence.
    """
    if lower == "read":
        if prev in _MODAL_BEFORE or prev.endswith("'ll"):
            return "R IY1 D"
        if tag.startswith(("VBD", "VBN")):
            return "R EH1 D"
        if prev in _THIRD_PERSON and tag not in ("VB", "VBZ", "VBG"):
            return "R EH1 D"  # "he read" is past ("he reads"; "does he read" is tagged VB)
        if tag.startswith(("VBP", "NN")) and _PAST_MARKERS.intersection(sentence):
            return "R EH1 D"  # "I read it yesterday": tagged present, but the time is past
        return None
    if lower == "used":
        if nxt == "to":
            if prev in _BE_GET and after_tag == "VB":
                return "Y UW1 Z D"  # "it is used to cut bread"
            return "Y UW1 S T"  # "I used to live", "I am used to it"
        return "Y UW1 Z D"
    if lower == "blessed" and tag.startswith("VBN") and prev in _HAVE:
        return "B L EH1 S T"
    if lower == "polish":
        if original[:1] == "P" and not tag.startswith("VB"):
            return "P OW1 L IH0 SH"
        return "P AA1 L IH0 SH"
    return None
