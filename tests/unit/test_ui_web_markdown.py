"""Web markdown: Chainlit's remark-directive would eat ``word:name`` (a timm model's name lost its middle)."""
from __future__ import annotations

import pytest

from ui.present.web import web_markdown


@pytest.mark.parametrize(("text", "shown"), [
    ("1. timm:test_convnext.r160_in1k 0.91", "1. timm\\:test_convnext.r160_in1k 0.91"),
    ("hf:facebook/convnext-tiny-224 and timm:resnet18", "hf\\:facebook/convnext-tiny-224 and timm\\:resnet18"),
    (":::note\nx\n:::", "\\:::note\nx\n:::"),
    ("leader: demo_lenet, 12:30, see https://example.org", "leader: demo_lenet, 12:30, see https://example.org"),
    ("`timm:resnet18` and ```\ntimm:vit\n```", "`timm:resnet18` and ```\ntimm:vit\n```"),
    ("already timm\\:resnet18", "already timm\\:resnet18"),
    ("", ""),
])
def test_colons_that_would_open_a_directive_are_escaped_outside_code(text, shown):
    assert web_markdown(text) == shown


def test_the_escape_is_the_markdown_one_for_a_colon():
    """CommonMark shows ``\\:`` as ":" (a colon is ASCII punctuation), so the page reads the name as written."""
    assert web_markdown("timm:resnet18").replace("\\:", ":") == "timm:resnet18"
