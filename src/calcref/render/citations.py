"""Citations of calcref's references: links and the export styles, as plain text.

Pure functions over `Reference` records: standard library only, no printing, no I/O. Imported
on every `cite` call, so it stays light (json is imported only when CSL-JSON is asked for).

Every style follows one rule for missing fields: what the source did not give is left out,
with the punctuation that would have surrounded it. Nothing is ever guessed or printed as
"None". Author names are split once, by `split_name`, for BibTeX, RIS and CSL-JSON alike.
Page ranges: AMA and Vancouver print them exactly as the source does ("455–62"); BibTeX, RIS
and CSL-JSON, which reference managers read, write the last page in full ("455--462"), by
`full_page_range`. A link is the confirmed DOI or, for an article only, a PubMed title search
(`calcref.answers.links.link`); a book chapter never carries a PubMed search.

A reference's caution and curator's notes travel with it into every style, worded as the CSV
and Markdown cells word them ("Curator's note: ..."): BibTeX's `note`, RIS `N1` lines,
CSL-JSON's `note`, and a bracketed note at the end of an AMA or Vancouver line (`export`; the
single line `format_one` gives is the citation alone, for views that print the notes beside
it). So does an online page's update date, which no style has a field for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from calcref.answers.links import LABEL_SEARCH, doi_url, link
from calcref.render.columns import warning_text, warnings, with_notes
from calcref.render.textsafe import json_safe, visible

if TYPE_CHECKING:
    from calcref.model import Record, Reference

    R = TypeVar("R", bound=Record)

STYLES: tuple[str, ...] = ("ama", "vancouver", "bibtex", "ris", "csl-json")
TEXT_STYLES: tuple[str, ...] = ("ama", "vancouver")

NOTE_ET_AL = 'The source lists further authors as "et al."'
NOTE_SEARCH_URL = "URL is a PubMed title search, not a confirmed identifier."

AMA_MAX_AUTHORS = 6  # AMA 11th ed.: all authors up to 6; more than 6 → first 3, et al
AMA_SHOWN_WHEN_TRUNCATED = 3
VANCOUVER_MAX_AUTHORS = 6  # ICMJE/NLM: first 6, then et al.

# "SJ", "MDP", "A", "J-P": the initials NLM-style names carry after the family name.
_INITIALS = re.compile(r"[A-Z](?:-?[A-Z]){0,4}")
# A name printed given names first, as the data has them: "Given Family" ("Smeeta Sinha") or
# "Given I. Family" ("Sagar U. Nigwekar", "Glenn M Chertow"). A name word starts with a capital
# and holds a lowercase letter ("XinWei", "Perelló"; hyphenated parts alike,
# "Portales-Castillo"). Anything else is not split: three full words ("Ian Duncan Smith",
# whose family name is "Duncan Smith"), a particle, a suffix, an acronym, a body's name.
_NAME_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_MIDDLE_INITIAL = re.compile(r"[^\W\d_]\.?")
# A particle or a suffix: "De Smet", "Van Damme" are family names alone.
_PARTICLES = (
    "abu al bin da das de del della den der des di dos du el ibn jr la le sr ten ter van von"
)
# A word that names a body, not a person: "Mayo Clinic".
_BODIES = (
    "academy association board centre center clinic college committee consortium council "
    "department foundation group hospital institute investigators network panel registry "
    "society study team trial university"
)
_NOT_SPLIT = frozenset(f"{_PARTICLES} {_BODIES}".split())
# Runs of whitespace fold to one space, but not the line and paragraph separators (U+2028,
# U+2029): invisible characters, which `textsafe` shows as escapes in every style.
_WHITESPACE = re.compile(r"[^\S\u2028\u2029]+")
EN_DASH = "\u2013"
_PAGE_SPLIT = re.compile(r"\s*(?:" + EN_DASH + r"|-{1,2})\s*")
# A page number: an optional letter prefix ("e" for e-pages, "S" for supplements), then digits.
_PAGE_NUMBER = re.compile(r"([A-Za-z]*)(\d+)")
_BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",  # a brace with its partner; one without is spelt out, by _bibtex_escape
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIBTEX_ESCAPE = re.compile("|".join(re.escape(c) for c in _BIBTEX_SPECIALS))


# --- shared helpers ----------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """An author as printed → (family, given), for BibTeX, RIS and CSL-JSON.

    Two forms are split. An NLM-style name ("Balin SJ", "Marco Puche A"): the last word is
    taken as initials when it looks like them ("SJ" → given "S. J."), and all the words before
    it are the family name, so multi-word and hyphenated families stay whole. A name printed
    given names first ("Smeeta Sinha", "Sagar U. Nigwekar", "Ignacio Portales-Castillo"): the
    last word is the family name and the words before it the given names, as printed. Any
    other name (one word, a particle such as "van", a suffix, a body such as "Mayo Clinic")
    comes back as (name, "") and is treated as one literal, never split where it is not
    certain where the family name starts.
    """
    family, given, _ = _name_parts(name)
    return family, given


def nlm_name(name: str) -> str:
    """An author as AMA and Vancouver print one: family name, then initials without periods.
    An NLM-style name is kept as printed; a given-names-first one is turned round, one initial
    for each given name or hyphenated part ("Sagar U. Nigwekar" → "Nigwekar SU",
    "Jean-Paul Sartre" → "Sartre J-P"); a literal name is printed as it is."""
    family, _, initials = _name_parts(name)
    return f"{family} {initials}" if initials else family


def _name_parts(name: str) -> tuple[str, str, str]:
    """(family, given, initials) of an author as printed; ("name", "", "") for a literal."""
    words = _clean(name).split(" ")
    if len(words) >= 2 and _INITIALS.fullmatch(words[-1]):
        return " ".join(words[:-1]), _dotted(words[-1]), words[-1]
    if len(words) >= 2 and _given_first(words):
        given = words[:-1]
        initials = "".join("-".join(part[0] for part in word.split("-")) for word in given)
        return words[-1], " ".join(given), initials
    return " ".join(words), "", ""


def _given_first(words: list[str]) -> bool:
    """Whether a name is printed given name first, certainly: see `_NAME_WORD`."""
    first, *middle, last = words
    return (
        all(_person_word(word) and word.lower() not in _NOT_SPLIT for word in (first, last))
        and len(middle) <= 1
        and all(_MIDDLE_INITIAL.fullmatch(word) and word[0].isupper() for word in middle)
    )


def _person_word(word: str) -> bool:
    """A given or family name as printed: each hyphenated part starts with a capital and holds
    a lowercase letter ("Smeeta", "XinWei", "Portales-Castillo"; not "SJ", "van", "M")."""
    return bool(_NAME_WORD.fullmatch(word)) and all(
        part[0].isupper() and not part.isupper() for part in word.split("-")
    )


def _dotted(initials: str) -> str:
    """Initials with periods: "SJ" → "S. J.", "J-P" → "J.-P."."""
    out: list[str] = []
    for char in initials:
        if char == "-":
            out.append("-")
        else:
            if out and out[-1] != "-":
                out.append(" ")
            out.append(char + ".")
    return "".join(out)


def _clean(text: str) -> str:
    """One line, single spaces: no field may smuggle a line break into RIS or a table."""
    return _WHITESPACE.sub(" ", text).strip(" ")


def _sentence(text: str) -> str:
    """End an element with a period unless it already ends a sentence."""
    text = _clean(text)
    return text if text.endswith((".", "?", "!")) else text + "."


def _split_pages(pages: str) -> tuple[str, str | None]:
    """Pages "455-62" (hyphen or en dash) → ("455", "62"): both ends as printed, not expanded."""
    parts = _PAGE_SPLIT.split(_clean(pages), maxsplit=1)
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    return _clean(pages), None


def full_page_range(pages: str) -> tuple[str, str | None]:
    """Pages as printed → (first, last), the last page written in full, for the formats
    reference managers read (BibTeX, RIS, CSL-JSON). AMA and Vancouver keep the printed form.

    The last page takes the leading digits it lacks from the first: "455–62" → ("455", "462"),
    "267–9" → ("267", "269"), "135–40" → ("135", "140"), "e26–8" → ("e26", "e28") (a letter
    prefix carries over; the last page may repeat it, "e26–e8"). Whatever cannot be expanded
    unambiguously keeps its printed last page: a non-numeric end ("xii–xv", "12a–b"), an end
    as long as the first or longer ("693-706", "28–32", "99–101": already whole), one that
    would fall before the first page ("455–4" would be 454), or a prefix unlike the first's.
    A single page gives (page, None).
    """
    first, last = _split_pages(pages)
    if last is None:
        return first, None
    start, end = _PAGE_NUMBER.fullmatch(first), _PAGE_NUMBER.fullmatch(last)
    if start is None or end is None or end.group(1) not in ("", start.group(1)):
        return first, last
    prefix, start_digits = start.groups()
    end_digits = end.group(2)
    missing = len(start_digits) - len(end_digits)
    if missing <= 0:
        return first, last
    whole = start_digits[:missing] + end_digits
    if int(whole) < int(start_digits):
        return first, last
    return first, prefix + whole


def _machine_pages(pages: str, dash: str) -> str:
    """Pages for BibTeX ("--") or CSL-JSON ("-"): the range with its last page in full, every
    dash written as `dash`."""
    first, last = full_page_range(pages)
    if last is None:
        return _PAGE_SPLIT.sub(dash, first)
    return first + dash + _PAGE_SPLIT.sub(dash, last)


def _notes(ref: Reference, *, et_al: bool = True) -> list[str]:
    """What a reference manager should keep beside the fields: et al. (unless the style says
    it, as BibTeX's "and others" does), the article number, an online page's update date, and
    the caution and curator's notes on the reference, which travel with it into every style.

    The update date is the page's, as printed ("Updated Feb 24, 2020"): no style has a field
    for it. BibTeX's `urldate`, RIS's `Y2` (Access Date in the 2011 RIS specification) and
    CSL's `accessed` all say when a reader looked at the page, which the source does not give.
    """
    notes = []
    if ref.et_al and et_al:
        notes.append(NOTE_ET_AL)
    if ref.article_number:
        notes.append(_clean(ref.article_number))
    if ref.updated:
        notes.append(f"Updated {_clean(ref.updated)}")
    return notes + [warning_text(w) for w in warnings(ref.as_json())]


def _locator(ref: Reference) -> str:
    """Year;Vol(Issue):pages, e.g. 2012;148(4):455-62, each missing part left out with its
    punctuation."""
    text = str(ref.year) if ref.year is not None else ""
    volume = ref.volume or ""
    if ref.issue:
        volume += f"({ref.issue})"
    if volume:
        text += (";" if text else "") + volume
    if ref.pages:
        text += (":" if text else "") + ref.pages
    return _clean(text)


def _author_list(ref: Reference, max_authors: int, shown_when_over: int) -> str:
    authors = [nlm_name(a) for a in ref.authors]
    truncated = ref.et_al
    if len(authors) > max_authors:
        authors = authors[:shown_when_over]
        truncated = True
    if truncated and authors:
        authors.append("et al")
    return ", ".join(authors)


# --- AMA and Vancouver -------------------------------------------------------------------------


def _text_citation(ref: Reference, *, vancouver: bool) -> str:
    if vancouver:
        authors = _author_list(ref, VANCOUVER_MAX_AUTHORS, VANCOUVER_MAX_AUTHORS)
    else:
        authors = _author_list(ref, AMA_MAX_AUTHORS, AMA_SHOWN_WHEN_TRUNCATED)
    parts: list[str] = []
    if authors:
        parts.append(_sentence(authors))
    if ref.title:
        parts.append(_sentence(ref.title))
    if ref.type == "chapter":
        if ref.book:
            parts.append("In: " + _sentence(ref.book))
        if vancouver:
            # NLM: "In: Book. Year. p. 455-62."
            if ref.year is not None:
                parts.append(f"{ref.year}.")
            if ref.pages:
                parts.append(_sentence(f"p. {ref.pages}"))
        else:
            # AMA: "In: Book. Year:455-462."
            tail = ":".join(str(x) for x in (ref.year, ref.pages) if x)
            if tail:
                parts.append(_sentence(tail))
    else:
        if ref.journal:
            parts.append(_sentence(ref.journal))
        if ref.site:
            parts.append(_sentence(ref.site))
        if ref.updated:
            parts.append(_sentence(f"Updated {ref.updated}"))
        locator = _locator(ref) if not ref.updated else ""  # the update date says the year
        if locator:
            parts.append(_sentence(locator))
    if ref.article_number:
        parts.append(_sentence(ref.article_number))
    parts.extend(_sentence(f"{name}: {_clean(value)}") for name, value in _ids(ref))
    if ref.doi:
        # No closing period: it would be copied as part of the identifier.
        parts.append("doi:" + _clean(ref.doi))
    return " ".join(parts)


def _ids(ref: Reference) -> list[tuple[str, str]]:
    """The confirmed PubMed and PMC ids, as NLM prints them after a citation."""
    return [(name, value) for name, value in (("PMID", ref.pmid), ("PMCID", ref.pmcid)) if value]


def ama(ref: Reference) -> str:
    """AMA 11th ed.: `Authors. Title. Journal. Year;Vol(Issue):pages. doi:...` (plain text)."""
    return _text_citation(ref, vancouver=False)


def vancouver(ref: Reference) -> str:
    """Vancouver (ICMJE/NLM): `Authors. Title. Journal. Year;Vol(Issue):pages. doi:...`."""
    return _text_citation(ref, vancouver=True)


_TEXT_FORMATTERS: dict[str, Callable[[Reference], str]] = {"ama": ama, "vancouver": vancouver}


def format_one(ref: Reference, style: str) -> str:
    """One reference in a text style ("ama" or "vancouver"), as one line."""
    try:
        formatter = _TEXT_FORMATTERS[style]
    except KeyError:
        raise ValueError(
            f"unknown text style {style!r}; expected one of: {', '.join(TEXT_STYLES)}"
        ) from None
    return formatter(ref)


# --- BibTeX ------------------------------------------------------------------------------------


_UNPAIRED_BRACE = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}
# " and " at brace depth 0 separates two names in an author field, and a comma separates a
# name's parts: BibTeX and biber split on them whatever the case and the spacing.
_NAME_SEPARATOR = re.compile(r"(?:^|\s)and(?:\s|$)|,", re.IGNORECASE)


def _bibtex_escape(text: str) -> str:
    r"""Text as a BibTeX field's value: TeX's specials escaped, and braces kept balanced.

    BibTeX counts braces without regard to backslashes, so `\{` alone opens a group that
    never closes and swallows the fields after it. A brace with a partner is escaped (`\{x\}`
    balances); one without is written as `\textbraceleft{}` or `\textbraceright{}`, which
    prints the same brace and leaves the count at zero.
    """
    text = _clean(text)
    unpaired, opened = set(), []
    for index, char in enumerate(text):
        if char == "{":
            opened.append(index)
        elif char == "}":
            if opened:
                opened.pop()
            else:
                unpaired.add(index)
    unpaired.update(opened)
    if not unpaired:
        return _BIBTEX_ESCAPE.sub(lambda m: _BIBTEX_SPECIALS[m.group(0)], text)

    def escaped(match: re.Match[str]) -> str:
        char = match.group(0)
        return _UNPAIRED_BRACE[char] if match.start() in unpaired else _BIBTEX_SPECIALS[char]

    return _BIBTEX_ESCAPE.sub(escaped, text)


def _bibtex_name(name: str) -> str:
    """One author as BibTeX reads it: "Family, G. I.", or the whole name in braces as one
    literal. A family name holding " and " or a comma is braced too, so it can never be read
    as two authors or as a name's other parts."""
    family, given = split_name(name)
    if not given:
        return "{" + _bibtex_escape(family) + "}"  # one literal name, never parsed into parts
    escaped = _bibtex_escape(family)
    if _NAME_SEPARATOR.search(family):
        escaped = "{" + escaped + "}"
    return f"{escaped}, {_bibtex_escape(given)}"


def bibtex_entry(ref: Reference) -> str:
    chapter = ref.type == "chapter"
    fields: list[tuple[str, str]] = []
    names = [_bibtex_name(a) for a in ref.authors]
    if names and ref.et_al:
        names.append("others")
    if names:
        fields.append(("author", " and ".join(names)))
    if ref.title:
        fields.append(("title", "{" + _bibtex_escape(ref.title) + "}"))  # keeps capitals
    if chapter and ref.book:
        fields.append(("booktitle", "{" + _bibtex_escape(ref.book) + "}"))
    if not chapter and ref.journal:
        fields.append(("journal", _bibtex_escape(ref.journal)))
    if ref.year is not None:
        fields.append(("year", str(ref.year)))
    if ref.volume:
        fields.append(("volume", _bibtex_escape(ref.volume)))
    if ref.issue:
        fields.append(("number", _bibtex_escape(ref.issue)))
    if ref.pages:
        fields.append(("pages", _bibtex_escape(_machine_pages(ref.pages, "--"))))
    if ref.doi:
        # biblatex reads doi verbatim: no TeX escapes, only characters that would unbalance it.
        fields.append(("doi", _clean(ref.doi).replace("{", "%7B").replace("}", "%7D")))
    if ref.site:
        fields.append(("howpublished", _bibtex_escape(ref.site)))
    fields.extend((name.lower(), _bibtex_escape(value)) for name, value in _ids(ref))
    notes = _notes(ref, et_al=False)  # "and others" says it
    if notes:  # one field: each note a sentence, the last as it is
        note = " ".join([*map(_sentence, notes[:-1]), notes[-1]])
        fields.append(("note", _bibtex_escape(note)))
    kind = "incollection" if chapter else "misc" if ref.type == "online" else "article"
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields).removesuffix(",\n")
    return f"@{kind}{{{ref.id},\n{body}\n}}\n" if body else f"@{kind}{{{ref.id},\n}}\n"


# --- RIS ---------------------------------------------------------------------------------------

CRLF = "\r\n"


def ris_record(ref: Reference) -> str:
    chapter = ref.type == "chapter"
    kind = "CHAP" if chapter else "ELEC" if ref.type == "online" else "JOUR"
    lines: list[tuple[str, str]] = [("TY", kind)]
    for author in ref.authors:
        family, given = split_name(author)
        lines.append(("AU", f"{family}, {given}" if given else family))
    if ref.title:
        lines.append(("TI", ref.title))
    if chapter and ref.book:
        lines.append(("T2", ref.book))
    if not chapter and ref.journal:
        lines.append(("T2", ref.journal))
        lines.append(("JO", ref.journal))
    if ref.site:
        lines.append(("T2", ref.site))
    if ref.year is not None:
        lines.append(("PY", str(ref.year)))
    if ref.volume:
        lines.append(("VL", ref.volume))
    if ref.issue:
        lines.append(("IS", ref.issue))
    if ref.pages:
        start, end = full_page_range(ref.pages)
        lines.append(("SP", start))
        if end:
            lines.append(("EP", end))
    if ref.doi:
        lines.append(("DO", ref.doi))
    if ref.pmid:
        lines.append(("AN", ref.pmid))
    url, label = link(ref)  # a chapter has none unless a DOI is confirmed: never a search
    if url:
        lines.append(("UR", url))
    notes = _notes(ref) + [f"{name}: {value}" for name, value in _ids(ref)]
    if url and label == LABEL_SEARCH:
        notes.append(NOTE_SEARCH_URL)
    lines.extend(("N1", note) for note in notes)
    lines.append(("ID", ref.id))
    text = "".join(f"{tag}  - {_clean(value)}{CRLF}" for tag, value in lines)
    return text + "ER  - " + CRLF


# --- CSL-JSON ----------------------------------------------------------------------------------


def csl_item(ref: Reference) -> dict[str, object]:
    """One CSL-JSON item; keys whose value is unknown are left out, never null or empty."""
    chapter = ref.type == "chapter"
    kind = "chapter" if chapter else "webpage" if ref.type == "online" else "article-journal"
    item: dict[str, object] = {"id": ref.id, "type": kind}
    authors: list[dict[str, str]] = []
    for author in ref.authors:
        family, given = split_name(author)
        authors.append({"family": family, "given": given} if given else {"literal": family})
    if authors:
        item["author"] = authors
    if ref.title:
        item["title"] = _clean(ref.title)
    container = ref.book if chapter else ref.journal or ref.site
    if container:
        item["container-title"] = _clean(container)
    if ref.volume:
        item["volume"] = _clean(ref.volume)
    if ref.issue:
        item["issue"] = _clean(ref.issue)
    if ref.pages:
        # CSL input takes a hyphenated range, last page in full; processors print their own
        # dash and abbreviate as their style asks.
        item["page"] = _machine_pages(ref.pages, "-")
    if ref.doi:
        item["DOI"] = _clean(ref.doi)
        item["URL"] = doi_url(ref.doi)  # only a confirmed DOI: a search is not the work's URL
    item |= {name: _clean(value) for name, value in _ids(ref)}
    if ref.year is not None:
        item["issued"] = {"date-parts": [[ref.year]]}
    notes = _notes(ref)
    if notes:
        item["note"] = "\n".join(notes)
    return item


def csl_json(refs: Sequence[Reference]) -> str:
    import json  # only the CSL-JSON export pays for it

    return json.dumps([csl_item(r) for r in refs], indent=2, ensure_ascii=False) + "\n"


# --- the whole document ------------------------------------------------------------------------


def _visible(record: R) -> R:
    """The record with control and bidi characters made visible, field by field, so a hostile
    knowledge file cannot drive the terminal through an exported citation (and RIS keeps its
    own CRLFs). Every text field the model declares, nested records (the curator's notes, a
    caution) included, so a new one (site, updated, pmid, pmcid) cannot slip past."""
    changes: dict[str, object] = {}
    for name, field in record.FIELDS.items():
        value = getattr(record, name)
        if not value:
            continue
        if field.type == "str":
            changes[name] = visible(value)
        elif field.type == "strs":
            changes[name] = tuple(map(visible, value))
        elif field.type == "record":
            changes[name] = _visible(value)
        elif field.type == "records":
            changes[name] = tuple(map(_visible, value))
    return record.replace(**changes)


def export(refs: Sequence[Reference], style: str) -> str:
    """Every reference in `refs`, in order, as one document in `style`, ending with a newline.

    ama/vancouver: one reference a line, unnumbered (numbering belongs to the citing text),
    its caution and curator's notes in brackets at the end of the line. bibtex: entries
    separated by a blank line. ris: CRLF throughout, records separated by a blank line.
    csl-json: one JSON array. No references give an empty document ("[]" for CSL-JSON).
    """
    if style == "csl-json":
        return json_safe(csl_json(refs))
    refs = [_visible(r) for r in refs]
    if style in _TEXT_FORMATTERS:
        return "".join(with_notes(_TEXT_FORMATTERS[style](r), r.as_json()) + "\n" for r in refs)
    if style == "bibtex":
        return "\n".join(bibtex_entry(r) for r in refs)
    if style == "ris":
        return CRLF.join(ris_record(r) for r in refs)
    raise ValueError(f"unknown citation style {style!r}; expected one of: {', '.join(STYLES)}")
