"""Each command's answer, ready for any writer: the records the JSON prints, with what a table
or Markdown also needs (the evidence legend, the gaps, the sources' labels).

The command line and a library user build answers the same way, so

    FORMATS["markdown"].write(replies.treat(kb, context="ssc"), Screen())

is what `calcref treat --context ssc --format markdown` prints, gap included. Ids are
resolved ids (`answers.query.resolve` turns what a user typed into one); nothing here reads
the environment or prints.
"""

from __future__ import annotations

from calcref.answers import query, records
from calcref.model import KnowledgeBase
from calcref.render.formats import Answer


def treat(
    kb: KnowledgeBase,
    context: str | None = None,
    subtype: str | None = None,
    line: str | None = None,
    min_evidence: str | None = None,
    *,
    details: bool = False,
    chart: bool = False,
    plain: bool = True,
) -> Answer:
    """The ladder and the therapies beyond it for the patients asked about (`plain`: no
    colour or terminal-only marks, as when piped)."""
    results = query.treat(
        kb, context=context, subtype=subtype, line=line, min_evidence=min_evidence
    )
    options = {
        "details": details,
        "show_chart": chart,
        "plain": plain,
        "gaps": records.gaps(kb, query.gaps(kb, context, subtype, line)),
        "asked": context or subtype,
        "principles": records.principles(kb),
        "labels": records.labels(kb),
    }
    rows = records.treat(kb, results, context, subtype)
    return Answer("treat", rows, (records.evidence_scale(kb),), options)


def studies(
    kb: KnowledgeBase,
    therapy: str | None = None,
    context: str | None = None,
    subtype: str | None = None,
    kind: str | None = None,
) -> Answer:
    """Every study once, for the filters given (`kind`: one of model.SOURCE_KINDS)."""
    found = query.studies(kb, therapy, context, subtype, kind)
    gaps = records.gaps(kb, query.gaps(kb, context, subtype))
    return Answer(
        "studies", records.studies(kb, found, context, subtype), table_options={"gaps": gaps}
    )


def workup(
    kb: KnowledgeBase, subtype: str | None = None, context: str | None = None, details: bool = False
) -> Answer:
    """The investigations in tiers, with the gaps said beside the workup."""
    rows = records.workup(kb, query.workup(kb, subtype=subtype, context=context))
    options = {
        "title": "Workup" + "".join(f" · {x}" for x in (subtype, context) if x),
        "details": details,
        "names": {r.id: r.name for section in (kb.subtypes, kb.contexts) for r in section},
        "gaps": records.gaps(kb, query.gaps(kb, context, subtype, concerns="workup")),
        "labels": records.labels(kb),
    }
    return Answer("workup", rows, table_options=options)


def gaps(answer: Answer) -> list[records.Record]:
    """The gaps an answer says (a table and Markdown above their rows; the CLI on stderr
    beside JSON and CSV)."""
    return (answer.table_options or {}).get("gaps") or []
