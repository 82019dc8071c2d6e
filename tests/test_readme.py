"""The README's normalization table is a promise: every row must hold."""

import re
from pathlib import Path

import pytest

from tts.text import normalize

README = Path(__file__).resolve().parents[1] / "README.md"


def _rows():
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- normalize-examples:start -->")[1].split("<!-- normalize-examples:end -->")[0]
    return re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|$", table, flags=re.MULTILINE)


def test_readme_has_the_table():
    assert len(_rows()) >= 20


@pytest.mark.parametrize("text,spoken", _rows())
def test_readme_examples(text, spoken):
    assert normalize(text) == spoken


def test_readme_starts_with_the_two_commands():
    head = README.read_text(encoding="utf-8").split("\n## ")[0]
    assert head.index("make demo") < head.index("make test")
