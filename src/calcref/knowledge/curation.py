"""The curators' rules: what a knowledge base must satisfy beyond loading.

The loader refuses what would make an answer wrong or crash (a bad type, an unknown id).
These rules catch what makes an answer untrustworthy: a letter without a line, counts that
cannot add up, a reference nobody cites, an identifier nobody confirmed. `calcref validate`
runs them with the loader's; normal commands do not, so a clinic's half-finished overlay
still answers while its curator works through the list.

Every rule reads the merged plain data defensively: it also runs on files the loader has
just found problems in, so a curator sees the whole list at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from calcref.errors import Problem
from calcref.knowledge.yamlread import line_of
from calcref.model import FILES, KNOWLEDGE_FILES, MANIFEST, RATIOS, Counts, named

Sections = dict[str, list[Any]]
Origins = dict[str, list[str]]
COUNT_NAMES = tuple(Counts.FIELDS)  # the keys a study's counts may hold


def check(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """Every curator's rule over the merged records, one problem at a time (a caller that
    has seen enough stops the rules by no longer asking)."""
    for rule in (
        _graded_without_line,
        _counts,
        _unnamed_references,
        _unconfirmed_identifiers,
        _overlay_redefines_scale,
        _letters_are_the_scales,
        _ratios_with_intervals,
        _disagreement_noted,
    ):
        yield from rule(sections, origins)


def manifest(base: Path, names: Iterable[str]) -> list[Problem]:
    """The base says which version of the knowledge it is; an overlay may, but need not."""
    if MANIFEST in names:
        return []
    return [
        Problem(
            str(base / MANIFEST), 1, "missing: the knowledge has no version or date", "manifest"
        )
    ]


def _records(sections: Sections, origins: Origins, kind: str) -> Iterator[tuple[dict, str]]:
    for record, path in zip(sections.get(kind, ()), origins.get(kind, ()), strict=True):
        if isinstance(record, dict):
            yield record, path


def _graded_without_line(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """A letter places a therapy on the ladder; without its line, `treat` cannot order it."""
    for therapy, path in _records(sections, origins, "therapies"):
        positions = therapy.get("positions")
        for position in positions if isinstance(positions, list) else ():
            if isinstance(position, dict) and position.get("evidence") and not position.get("line"):
                yield Problem(
                    path,
                    line_of(position, "evidence"),
                    f"therapy '{therapy.get('id')}' is graded {position['evidence']} by "
                    f"'{position.get('source')}' but has no line",
                    "graded-without-line",
                )


def _counts(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """Responders never exceed the patients treated, and no split exceeds its whole."""
    for study, path in _records(sections, origins, "studies"):
        counts = study.get("counts")
        if not isinstance(counts, dict):
            continue
        given = {k: v for k, v in counts.items() if k in COUNT_NAMES and _count(v)}
        line = line_of(study, "counts")
        name = f"study '{study.get('id')}'"
        split = given.get("complete", 0) + given.get("partial", 0)
        if "responders" in given and split > given["responders"]:
            yield Problem(
                path,
                line,
                f"{name}: complete + partial ({split}) exceed the responders "
                f"({given['responders']})",
                "counts",
            )
        n = study.get("n")
        if not _count(n):
            continue
        responded = given.get("responders", split)
        total = responded + given.get("none", 0) + given.get("unknown", 0)
        if total > n:
            parts = " + ".join(f"{k} {v}" for k, v in given.items() if k in _TOTALLED)
            yield Problem(
                path,
                line,
                f"{name}: counts add up to {total} patients ({parts}), more than the {n} treated",
                "counts",
            )


_TOTALLED = ("responders", "none", "unknown")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unnamed_references(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """A reference no record names supports nothing: a leftover, or a missing `sources`."""
    named_ids: set[str] = set()
    for name in KNOWLEDGE_FILES:
        for kind, rule in FILES[name].items():
            for record, _ in _records(sections, origins, kind):
                own = record.get("id") if kind == "references" else None
                names = named([record], rule)
                named_ids |= {i for space, i in names if space == "reference" and i != own}
    for reference, path in _records(sections, origins, "references"):
        if isinstance(reference.get("id"), str) and reference["id"] not in named_ids:
            yield Problem(
                path,
                line_of(reference, "id"),
                f"reference '{reference['id']}' is not named by any record",
                "unnamed-reference",
            )


def _unconfirmed_identifiers(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """Identifiers are the easiest thing to get subtly wrong, so each says who confirmed it."""
    for reference, path in _records(sections, origins, "references"):
        if reference.get("doi") and not reference.get("confirmed"):
            yield Problem(
                path,
                line_of(reference, "doi"),
                f"reference '{reference.get('id')}' has a DOI but no 'confirmed' saying which "
                "page or source confirmed it",
                "unconfirmed-identifier",
            )


def _overlay_redefines_scale(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """An overlay may replace an evidence letter's definition (`replace: true`), but every
    answer presents the letters as the chapter's grades: a clinic that redefines one changes
    what every therapy graded with it means, so `validate` says so at the overlay's letter.

    A merged evidence level still holding `replace: true` is one an overlay redefined: the
    merge accepts `replace` only over an earlier layer's record, and a base file may not say
    it at all (these rules run on the merged data before `replace` is dropped)."""
    for level, path in _records(sections, origins, "evidence_levels"):
        if level.get("replace") is True:
            yield Problem(
                path,
                line_of(level, "letter"),
                f"an overlay redefines evidence letter '{level.get('letter')}' as "
                f"'{level.get('definition')}': every therapy graded {level.get('letter')} "
                "is now read with this definition, not the chapter's",
                "overlay-redefines-scale",
            )


def _letters_are_the_scale_s_sources(sections: Sections) -> set[str]:
    return {
        source
        for level in sections.get("evidence_levels", ())
        if isinstance(level, dict) and isinstance(level.get("sources"), list)
        for source in level["sources"]
        if isinstance(source, str)
    }


def _letters_are_the_scales(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """The A–E letters are the chapter's grades: a position from any other source keeps its
    own grade in `grade` (Traineau 2020's "Oxford level IB"), never a letter of the scale."""
    owners = _letters_are_the_scale_s_sources(sections)
    for therapy, path in _records(sections, origins, "therapies"):
        positions = therapy.get("positions")
        for position in positions if isinstance(positions, list) else ():
            if (
                isinstance(position, dict)
                and position.get("evidence")
                and position.get("source") not in owners
            ):
                yield Problem(
                    path,
                    line_of(position, "evidence"),
                    f"therapy '{therapy.get('id')}': '{position.get('source')}' is given the "
                    f"letter {position['evidence']}, but the letters are the grades of "
                    f"{', '.join(sorted(owners)) or 'the evidence scale'}; put a source's own "
                    "grade in 'grade'",
                    "letter-not-the-scales",
                )


def _ratios_with_intervals(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """A ratio without its interval and confidence level cannot be read: 0.89 may or may not
    exclude 1. The source's figures go in as printed, all three; where the source prints no
    level, a curator's note on the effect says so (none is assumed)."""
    for study, path in _records(sections, origins, "studies"):
        effects = study.get("effects")
        for effect in effects if isinstance(effects, list) else ():
            if not isinstance(effect, dict) or effect.get("type") not in RATIOS:
                continue
            missing = [k for k in ("interval", "level") if not effect.get(k)]
            if missing == ["level"] and effect.get("notes"):
                continue  # the source prints no level, and a curator's note says so
            if missing:
                yield Problem(
                    path,
                    line_of(effect, "type"),
                    f"study '{study.get('id')}': a {effect['type']} of {effect.get('value')} "
                    f"without its {' and '.join(missing)}",
                    "ratio-without-interval",
                )


def _disagreement_noted(sections: Sections, origins: Origins) -> Iterator[Problem]:
    """A therapy said to have sources that disagree names the note that says how: the mark on
    its treat rows is a curator's reading, and the reading must be there to check."""
    for therapy, path in _records(sections, origins, "therapies"):
        note_id = therapy.get("disagreement")
        notes = therapy.get("notes")
        ids = (
            {n.get("id") for n in notes if isinstance(n, dict)}
            if isinstance(notes, list)
            else set()
        )
        if note_id and note_id not in ids:
            yield Problem(
                path,
                line_of(therapy, "disagreement"),
                f"therapy '{therapy.get('id')}': disagreement names '{note_id}', which is not "
                "one of its notes",
                "disagreement-without-note",
            )
