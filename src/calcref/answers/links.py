"""Where a reader can find a reference: its confirmed DOI, else an honest PubMed search.

A PubMed search is offered only for an article: a textbook chapter is not indexed in PubMed,
so a search for its title finds unrelated papers, and a chapter without a DOI gets no link.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

from calcref.model import Reference

PUBMED_SEARCH = "https://pubmed.ncbi.nlm.nih.gov/?term="
DOI_RESOLVER = "https://doi.org/"
PUBMED_RECORD = "https://pubmed.ncbi.nlm.nih.gov/"
LABEL_PUBMED = "PubMed record"
LABEL_DOI = "DOI"
LABEL_SEARCH = "PubMed search (not a confirmed identifier)"
LABEL_NONE = "no link: title not given in the source"
LABEL_CHAPTER = "no link: a book chapter is not indexed in PubMed"
LABEL_ONLINE = "no link: an online reference is not indexed in PubMed"
# Characters kept as they are in a DOI URL; everything else (spaces, #, ?, %, braces) is encoded.
_DOI_SAFE = "/:;()[]._-+,=@!$&'*"
_WHITESPACE = re.compile(r"\s+")


def pubmed_search_url(title: str) -> str:
    """A PubMed search for the title: always honest, never a claimed identifier. For articles
    only; `link` never offers it for a book chapter."""
    return PUBMED_SEARCH + quote_plus(title)


def doi_url(doi: str) -> str:
    return DOI_RESOLVER + quote(_WHITESPACE.sub(" ", doi).strip(), safe=_DOI_SAFE)


def link(ref: Reference) -> tuple[str | None, str]:
    """(url, label): the DOI when confirmed, else the confirmed PubMed record; else, for an
    article with a title, a PubMed title search; else no link, with the reason as the label.

    A confirmed DOI identifies the work itself, chapter or article, so it always wins. A book
    chapter never gets a PubMed search: PubMed does not index textbook chapters.
    """
    if ref.doi:
        return doi_url(ref.doi), LABEL_DOI
    if ref.pmid:
        return f"{PUBMED_RECORD}{quote(ref.pmid.strip(), safe='')}/", LABEL_PUBMED
    if ref.type == "chapter":
        return None, LABEL_CHAPTER
    if ref.type == "online":
        return None, LABEL_ONLINE
    if ref.title:
        return pubmed_search_url(ref.title), LABEL_SEARCH
    return None, LABEL_NONE
