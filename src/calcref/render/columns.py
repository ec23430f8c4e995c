"""Records flattened into cells for the Markdown and CSV writers (and the tables' text).

The columns of an answer are derived from its records, in the order of their keys: a field
added to the model becomes a column by itself. A nested record is written the way a reader
says it ("Balin 2012 [ctd]: n=17: 9 partial"), a list is joined with "; ", and a curator's
note always travels inside the cell of the value it qualifies. A nested record that came
from an overlay says so in its own cell ("... [◆ overlay: /clinic/therapies.yaml]"), as the
tables mark it under its name.
"""

from __future__ import annotations

from typing import Any

from calcref.model import Counts

Record = dict[str, Any]
UNSHOWN = {"layer", "source_file", "overlay"}  # replaced by one `overlay` column
OVERLAY_MARK = "◆ overlay"


def joined(items: list[str]) -> str:
    return "; ".join(items)


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def warnings(record: Record) -> list[Record]:
    """The caution and the curator's notes on a record, caution first: what must be shown
    wherever one of its values is."""
    caution = record.get("caution")
    found = [{"kind": "caution", **caution}] if caution else []
    return found + [{"kind": "note", **note} for note in record.get("notes") or []]


def warning_text(warning: Record) -> str:
    if warning["kind"] == "caution":
        likely = f" (likely {warning['likely']})" if warning.get("likely") else ""
        return f"Caution{likely}: {warning['text']}"
    return f"Curator's note: {warning['text']}"


def with_notes(body: str, record: Record) -> str:
    """A value followed by the caution and notes that qualify it, so they never travel apart."""
    return body + "".join(f" [{warning_text(w)}]" for w in warnings(record))


def sourced(body: str, sources: list[str]) -> str:
    return f"{body} ({', '.join(sources)})" if sources else body


OUTCOME_LABELS = {
    "complete": "complete",
    "partial": "partial",
    "responded": "responded, degree not given",
    "none": "no response",
    "unknown": "unknown",
}


def outcomes(counts: Record) -> dict[str, int]:
    """The patients of each outcome, each counted once: those who responded without a stated
    degree are the responders the source does not split into complete and partial. Only
    what the source gives appears (an outcome it does not state is left out, not zero)."""
    complete, partial = counts.get("complete"), counts.get("partial")
    split = (complete or 0) + (partial or 0)
    responders = counts.get("responders")
    found = {
        "complete": complete,
        "partial": partial,
        "responded": None if responders is None else max(responders - split, 0) or None,
        "none": counts.get("none"),
        "unknown": counts.get("unknown"),
    }
    return {key: value for key, value in found.items() if value is not None}


NO_COUNT = "number treated not given"  # n counts the patients given the therapy


def counts_text(study: Record, brief: bool = False) -> str:
    """Outcome counts as the chart draws them, every patient once:
    'n=3: 1 complete, 2 responded, degree not given' (`brief`: 'n=9: 8 responded' where the
    source gives no degree for anyone, so there is nothing to tell apart)."""
    said = outcome_text(study["counts"], brief)
    prefix = patients(study)
    return f"{prefix}: {said}" if said else prefix


def outcome_text(counts: Record, brief: bool = False) -> str:
    """'1 complete, 2 responded, degree not given'; empty where the source gives no
    outcome count (n, the number treated, is said apart from it)."""
    given = outcomes(counts)
    labels = OUTCOME_LABELS | ({"responded": "responded"} if brief and len(given) == 1 else {})
    return ", ".join(f"{value} {labels[key]}" for key, value in given.items())


def patients(study: Record) -> str:
    """'n=12', and for a randomised trial 'n=37 vs placebo (34 randomised)': n counts the
    patients given the therapy, so one arm is never read as the whole trial. (A cohort's
    effect already names both groups: 'debrided (17) vs not debrided (46)'.)"""
    if study["n"] is None:
        return NO_COUNT
    randomised = (study.get("kind") or "").startswith("randomised")
    versus = f" vs {study['comparator']}" if randomised and study.get("comparator") else ""
    return f"n={study['n']}{versus}"


def study_summary(study: Record) -> str:
    """'Balin 2012 [ctd]: n=8: 1 complete, 2 partial': who, where, what if more than the
    therapy ('surgery with medical treatment'), and the counts."""
    return f"{study_name(study)}: {counts_text(study)}"


KIND_SHORT = {
    "randomised double-blind trial": "double-blind RCT",
    "randomised trial": "RCT",
    "post hoc analysis of a randomised trial": "post hoc RCT analysis",
    "retrospective cohort or series": "retrospective",
    "narrative review": "review",
}


def kind_text(kind: str | None) -> str:
    """A kind of source in a few words: 'double-blind RCT', 'meta-analysis', 'case report'."""
    return KIND_SHORT.get(kind or "", kind or "kind not stated")


def effect_text(effect: Record) -> str:
    """'death, STS vs none: risk ratio 0.89 (95% CI 0.71–1.12)': as printed, never rounded."""
    interval = effect.get("interval")
    level = f"{effect['level']} CI " if effect.get("level") else "CI "
    bounds = f" ({level}{interval})" if interval else ""
    p = f", {effect['p']}" if effect.get("p") else ""
    kind = "" if effect["type"] == "other" else f"{effect['type']} "  # 'other' names nothing
    return with_notes(f"{effect['measure']}: {kind}{effect['value']}{bounds}{p}", effect)


def study_phrase(study: Record, asked: str | None = None) -> str:
    """The study in one phrase: who reported it, what kind, whose patients, how many, what
    happened and which way the source says it points. For treat's one-row answer about the
    population `asked`, without the reporter (`show` names them) and shorter."""
    kind = kind_text(study.get("kind")) if study.get("kind") else study.get("design")
    reporter = asked is None
    if reporter:
        head = f"{study_name(study)}, {kind}" if kind else study_name(study)
    else:
        head = f"{kind or 'study'}{population_tag(study, asked)}{treated(study)}"
    effects = study.get("effects") or []
    if outcomes(study["counts"]) or not effects:
        result = counts_text(study, brief=not reporter)
    else:
        result = f"{patients(study)}; {effect_text(effects[0])}"
    direction = f" → {study['direction']}" if study.get("direction") else ""
    if not reporter and result == NO_COUNT:
        # The one-row answer leaves out what is not there, but says what the authors
        # conclude when that is all the source gives (a review advising against warfarin).
        concluded = study.get("conclusion") if not direction else None
        result = f"the authors: {concluded}" if concluded else ""
    aim = " (prevention)" if study.get("aim") == "prevention" else ""
    return f"{head}{aim}{': ' + result if result else ''}{direction}"


def study_name(study: Record) -> str:
    """'Balin 2012 [ctd: the whole group] (surgery with medical treatment)': who reported
    it, whose patients, and what they received when it was more than the therapy."""
    return f"{study['label']}{population_tag(study)}{treated(study)}"


def treated(study: Record) -> str:
    """' (surgery with medical treatment)' when the patients received more than the therapy."""
    return f" ({study['treatment']})" if study.get("treatment") else ""


def study_line(study: Record) -> str:
    """A study in a cell: its summary, its caution and notes, the harms it reports, and its
    overlay if it has one (a nested study's harms would otherwise be lost in CSV and
    Markdown, where a treat row holds its studies in one cell)."""
    harms = "".join(f" [Harm: {harm_text(h)}]" for h in study.get("harms") or [])
    return with_origin(with_notes(study_summary(study), study) + harms, study)


def harm_text(harm: Record) -> str:
    """A harm as the sources report it, with its sources, caution and notes."""
    return with_notes(sourced(harm["text"], harm["sources"]), harm)


def origin_text(record: Record) -> str:
    """'◆ overlay: /clinic/therapies.yaml' for a record an overlay gave (or replaced); empty
    for the bundled knowledge and for records that carry no provenance."""
    if record.get("overlay") is True and record.get("source_file"):
        return f"{OVERLAY_MARK}: {origin_path(record)}"
    return ""


def with_origin(body: str, record: Record) -> str:
    """A nested record's text followed by its overlay, so local knowledge is never read as
    the sources' in a flat cell either."""
    mark = origin_text(record)
    return f"{body} [{mark}]" if mark else body


def legend_entry(level: Record) -> str:
    """One letter of the evidence legend: 'C Clinical trial < 20 subjects', and for a letter
    an overlay defined, 'C <its definition> [◆ overlay: /clinic/therapies.yaml]': the tables'
    legend says the letters are the chapter's grades, so a clinic's redefinition says whose
    it is."""
    return with_origin(f"{level['letter']} {level['definition']}", level)


def position_text(position: Record) -> str:
    """'chapter: second line, evidence E, listed as ...' for the graded place; another
    source's view as 'jopa, for ssc (no evidence letter): Often used first line ...', with
    the patients its place is for when it names them."""
    source = position.get("label") or position["source"]
    if position.get("contexts"):  # the patients the source's place is for
        source += f", for {', '.join(position['contexts'])}"
    if position["evidence"]:
        place = f"{source}: {position['line']} line, evidence {position['evidence']}"
        listed = position["listed_as"]
        return f"{place}, listed as '{listed}'" if listed else place
    grade = f" [{source}'s own grade: {position['grade']}]" if position.get("grade") else ""
    if position["view"]:
        return with_notes(f"{source} (no evidence letter): {position['view']}{grade}", position)
    line = f"{position['line']} line, " if position["line"] else ""
    return with_notes(f"{source}: {line}no evidence letter{grade}", position)


def counted(frequency: Record) -> str:
    """The context a figure is for, with the narrower group it counts when there is one:
    'ssc (limited systemic sclerosis)'."""
    population = frequency.get("population")
    return f"{frequency['context']} ({population})" if population else frequency["context"]


def frequency_sources(frequency: Record) -> list[str]:
    """Whose figure it is: the sources of its statements, each once, in order."""
    return list(dict.fromkeys(s for st in frequency["statements"] for s in st["sources"]))


def frequency_text(frequency: Record) -> str:
    """'ssc (limited systemic sclerosis): about 25% (tajalli2019) [Curator's note: ...]':
    whose patients, the figure, whose figure, and the cautions and notes on the statements
    behind it, as the table says it (there with the sources' labels)."""
    said = sourced(f"{counted(frequency)}: {frequency['figure']}", frequency_sources(frequency))
    return "".join([said, *(with_notes("", s) for s in frequency["statements"])])


def match_text(record: Record) -> str:
    """Why a therapy answers the context asked, in words: 'studied in ssc', 'named for ssc;
    no study in it', 'studied in jdm, inside it', 'only for ctd as a whole'."""
    match = record.get("match")
    if not match:
        return ""
    where, studied = match["context"], match.get("evidence") == "studied"
    if match["kind"] == "direct":
        return f"studied in {where}" if studied else f"named for {where}; no study in it"
    if match["kind"] == "narrower":
        return f"{'studied in' if studied else 'named for'} {where}, inside it"
    return f"{'studied' if studied else 'named'} only for {where} as a whole"


RELATIONS = {"broader": "the whole group", "other": "another population"}
ASKED = {"broader": "{where} as a whole", "other": "{where}: other group"}  # shorter, in treat
UNSTATED = "population not stated"


def population_tag(study: Record, asked: str | None = None) -> str:
    """'[ssc]', or for patients who are not the population asked about '[ctd: the whole
    group]', '[dm: another population]': their counts are never read as this population's.
    Naming the population `asked` says it shorter: '[ctd as a whole]', '[jdm: other group]'.
    Another group is never said to lack the condition asked: '[ckd, not
    hyperparathyroidism]' claimed what udomkarnjananun does not say (it gives no PTH
    status). A source silent on whose patients they were is not made to say they were
    others: '[population not stated]', or with --subtype '[dm: subtype not stated]'. One
    that says it left them out says so: '[calciphylaxis excluded by the source]'."""
    where, relation = ", ".join(study["contexts"]), study.get("relation")
    if relation == "excluded":  # the source says these patients were left out
        return f" [{', '.join(study['excluded'])} excluded by the source]"
    if relation == "unstated":
        return f" [{where}: subtype not stated]" if where else f" [{UNSTATED}]"
    if relation == "other" and not where:  # seen from a subtype: named by its own subtype
        where = ", ".join(study.get("subtypes") or [])
    if asked and where and relation in ASKED:
        return f" [{ASKED[relation].format(where=where)}]"
    parts = [where] if where else []
    if relation in RELATIONS:
        parts.append(RELATIONS[relation])
    return f" [{': '.join(parts)}]" if parts else ""


def origin_path(record: Record) -> str:
    """The layer and the file together, as a reader finds the file: clinic/therapies.yaml.
    `bundled` is calcref's bundled knowledge, shown by its file alone (a user's directory of
    that name is the layer `./bundled`), and never an overlay."""
    layer, name = record.get("layer"), record.get("source_file") or ""
    bundled = layer == "bundled" and not record.get("overlay")
    return name if not layer or bundled else f"{layer.rstrip('/')}/{name}"


def overlay_file(record: Record) -> str:
    """The overlay a record came from; empty for the base knowledge, whose path differs from
    one installation to the next and says nothing a reader needs."""
    return origin_path(record) if record.get("overlay") else ""


def columns(rows: list[Record]) -> list[str]:
    """Every key of the rows, in order of first appearance, then `overlay` where rows have
    a provenance."""
    keys = list(dict.fromkeys(key for row in rows for key in row if key not in UNSHOWN))
    if any("source_file" in row for row in rows):
        keys.append("overlay")
    return keys


def cell(row: Record, key: str) -> str:
    """One value of one row as the text of a cell."""
    if key == "overlay":
        return overlay_file(row)
    return flat(row.get(key))


def flat(value: object) -> str:
    if isinstance(value, list):
        return joined([flat(item) for item in value])
    if isinstance(value, dict):
        return _record_text(value)
    return text(value)


def _record_text(record: Record) -> str:
    """A nested record as a reader says it, with its overlay when it came from one."""
    if "counts" in record and "label" in record:
        return study_line(record)  # which carries its overlay itself
    return with_origin(_shaped_text(record), record)


def _shaped_text(record: Record) -> str:
    """A nested record by its shape; an unknown shape as `key: value` pairs (its provenance
    left to `with_origin`: a path differs from one installation to the next)."""
    if "listed_as" in record:
        return position_text(record)
    if "measure" in record and "value" in record:
        return effect_text(record)
    if "basis" in record:
        return f"{record['target']} ({record['basis']}): {record['reason']}"
    if "figure" in record:
        return frequency_text(record)
    if set(record) == {"kind", "context"}:
        return match_text({"match": record})
    if "text" in record and "sources" in record:
        said = harm_text(record)
        # a search hit's harm says whose: a study may have tried more than one therapy
        return f"{record['therapy']}: {said}" if "therapy" in record else said
    if "likely" in record:  # a caution, in a column of its own
        return warning_text({"kind": "caution", **record})
    if set(record) <= {"id", "text", "source"}:  # a curator's note, a printed citation
        return text(record.get("text"))
    if set(record) == {"entry", "therapies"}:  # a chapter entry and the therapies it is
        return f"{record['entry']} ({', '.join(record['therapies'])})"
    if set(record) == {"context", "sources"}:
        return sourced(record["context"], record["sources"])
    if set(record) <= set(Counts.FIELDS):  # the outcomes alone: n has a column of its own
        return outcome_text(record)
    given = {k: v for k, v in record.items() if v not in (None, [], "") and k not in UNSHOWN}
    return ", ".join(f"{k}: {flat(v)}" for k, v in given.items())
