"""The library builds an answer as the command line does: `render.replies` plus a writer of
`render.formats.FORMATS` prints what `calcref COMMAND --format NAME` prints, gaps and legend
included (a library user once got a TypeError from the table writer and a Markdown table
without its gap)."""

from __future__ import annotations

import pytest
from clirun import ok
from helpers import load_active

from calcref.render import replies
from calcref.render.formats import FORMATS
from calcref.render.screen import Screen

QUESTIONS = [
    (["treat", "--context", "ssc"], lambda kb: replies.treat(kb, context="ssc")),
    (
        ["treat", "--subtype", "calciphylaxis"],
        lambda kb: replies.treat(kb, subtype="calciphylaxis"),
    ),
    (["treat", "--line", "third"], lambda kb: replies.treat(kb, line="third")),
    (["studies", "--therapy", "tpa"], lambda kb: replies.studies(kb, therapy="tpa")),
    (["workup", "--subtype", "metastatic"], lambda kb: replies.workup(kb, subtype="metastatic")),
]


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
@pytest.mark.parametrize(("argv", "build"), QUESTIONS, ids=[" ".join(q[0]) for q in QUESTIONS])
def test_the_library_writes_what_the_command_prints(argv, build, fmt):
    expected = ok(*argv, "--format", fmt, env={"COLUMNS": "80"}).stdout
    assert FORMATS[fmt].write(build(load_active()), Screen(width=80)) == expected


def test_an_answer_says_its_gaps():
    kb = load_active()
    (gap,) = replies.gaps(replies.treat(kb, line="third"))
    assert gap["text"].startswith("The chapter's third-line therapies are not available")
    assert replies.gaps(replies.treat(kb, context="ssc"))
