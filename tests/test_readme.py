"""The normalization table (docs/text.md) is a promise: every row must hold; the README starts
with the two set-up commands."""

import re
from pathlib import Path

import pytest

from tts.text import normalize

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT_DOC = ROOT / "docs" / "text.md"


def _rows():
    text = TEXT_DOC.read_text(encoding="utf-8")
    table = text.split("<!-- normalize-examples:start -->")[1].split("<!-- normalize-examples:end -->")[0]
    return re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|$", table, flags=re.MULTILINE)


def test_text_doc_has_the_table():
    assert len(_rows()) >= 20


@pytest.mark.parametrize("text,spoken", _rows())
def test_readme_examples(text, spoken):
    assert normalize(text) == spoken


def test_readme_starts_with_the_two_commands():
    head = README.read_text(encoding="utf-8").split("\n## ")[0]
    assert head.index("make demo") < head.index("make test")
