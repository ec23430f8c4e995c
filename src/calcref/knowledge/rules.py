"""What a valid knowledge file looks like, and the check that finds every way one is not.

The rules are the model's declarations (`calcref.model`): one `Field` per key, walked here
for shape, types, enums, patterns and ids. Validation never stops at the first problem: a
curator fixing a file wants the whole list at once. It stops at the thousandth (see
MAX_PROBLEMS), and says so.

A list of ids (a `strs` field with a `ref`: a study's therapies, contexts and subtypes, every
`sources`) or of allowed values (a `strs` field with an `enum`: a gap's lines) is a set by
meaning, so an item listed twice is refused wherever it is declared: left in, the study would
be listed twice under its therapy in every format. A list of free text is not checked: the
authors of a reference are "exactly as printed", and two authors may print alike ("Wang Y,
Wang Y"); a list of names users type (aliases) is checked, case-folded, by `check_aliases`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from calcref.errors import Problem
from calcref.knowledge.yamlread import UNREAD, LineDict, LineList, line_of
from calcref.model import (
    ALL_SUBTYPES,
    DATE_PATTERN,
    FILES,
    ID_PATTERN,
    MANIFEST,
    NAMESPACES,
    Field,
    identity,
)

REPLACE = Field(
    "bool",
    "Overlays only: true to replace the earlier record with the same id, which is otherwise "
    "an error.",
)


def overlay_spec(name: str) -> dict[str, Field]:
    """An overlay file's rules: every section optional, keyed records may say `replace`."""
    if name == MANIFEST:
        return FILES[name]
    return {
        section: rule.but(
            required=False,
            spec=rule.spec
            if identity(section) is None
            else {**(rule.spec or {}), "replace": REPLACE},
        )
        for section, rule in FILES[name].items()
    }


_TYPE_NAMES = {
    "str": "a string",
    "int": "a whole number",
    "bool": "true or false",
    "strs": "a list of strings",
    "record": "a mapping",
    "records": "a list of mappings",
}


_PATTERN_NAMES = {ID_PATTERN: "lowercase letters, digits and hyphens", DATE_PATTERN: "YYYY-MM-DD"}


# How many problems one check collects before it stops. A curator's real mistakes run to
# tens, and one repeated on every record (a key renamed throughout) to about as many as the
# records: 71 studies bundled, about 700 at ten times the bundled knowledge. 1,000 lists all
# of those, about 100 KB of report; past it a file is not a draft with mistakes but
# something else (generated, the wrong file), and collecting on would cost memory and time
# in proportion to the file (a 24 MB overlay of 1.5 million bad items: 9 million problems,
# 5.8 GiB). So checking stops, and the report says where and that there may be more.
MAX_PROBLEMS = 1_000
LIMIT_RULE = "limit"  # the rule of the last line of a report that stopped at MAX_PROBLEMS


class TooManyProblems(Exception):
    """Raised by `Validation.extend` (and `add`) past its limit: checking stops where it is.
    Safe to stop anywhere: a check with any problem never becomes a knowledge base."""


class Validation:
    """Accumulates problems, id definitions and id uses across every file of a stack, up to
    `limit` problems: the next one is kept as `stopped` (where checking stopped) and raises
    TooManyProblems. (A plain class: a dataclass costs a cold start 1.5 ms to import and
    build.)"""

    def __init__(self, limit: int | None = None) -> None:
        self.problems: list[Problem] = []
        self.limit = MAX_PROBLEMS if limit is None else limit
        self.stopped: Problem | None = None
        self.defined: dict[str, dict[str, tuple[str, int]]] = {}
        self.used: list[tuple[str, str, str, int]] = []

    def add(self, path: str, line: int, message: str) -> None:
        self.extend((Problem(path, line, message),))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Keep each problem, or stop at the first past the limit. `problems` may be a
        generator: stopping also stops the check that yields them."""
        for problem in problems:
            if len(self.problems) >= self.limit:
                self.stopped = problem
                raise TooManyProblems
            self.problems.append(problem)

    def report(self) -> list[Problem]:
        """The problems in file order, each once, then, if checking stopped early, one more
        line saying so, at the problem it stopped at (so every line reads path:line)."""
        problems = sorted(dict.fromkeys(self.problems), key=lambda p: (p.path, p.line))
        if self.stopped is None:
            return problems
        path, line = self.stopped.path, self.stopped.line
        message = (
            f"more problems: checking stopped here, after the first {self.limit:,}; fix those "
            "and check again for the rest"
        )
        return [*problems, Problem(path, line, message, LIMIT_RULE)]

    def check_file(self, path: str, name: str, data: object, overlay: bool = False) -> None:
        """Shape, types and enums of one file. Ids must be unique within a layer; across
        layers the merge decides (an overlay may replace a record on purpose)."""
        self._record(path, data, overlay_spec(name) if overlay else FILES[name], "file", 1)

    def start_layer(self) -> None:
        self.defined = {}

    def check_links(self, sections: dict[str, list]) -> None:
        """After merging: every id named anywhere must be defined by some record."""
        known = {
            namespace: {r.get(identity(kind)) for r in sections.get(kind, ())}
            for namespace, kind in NAMESPACES.items()
        }
        known["target"] = {ALL_SUBTYPES} | known["subtype"] | known["context"]
        for namespace, value, path, line in self.used:
            if value not in known[namespace]:
                kind = "subtype or context" if namespace == "target" else namespace
                self.add(path, line, f"unknown {kind} id '{value}'")

    def _record(
        self, path: str, data: object, spec: dict[str, Field], what: str, line: int
    ) -> None:
        if not isinstance(data, dict):
            self.add(path, line_of(data, default=line), f"{what} must be a mapping")
            return
        key_lines = getattr(data, "key_lines", {})  # read directly: this loop is hot
        for key in data:
            if key not in spec:
                allowed = ", ".join(spec)
                self.add(
                    path, line_of(data, key), f"unknown key '{key}' in {what} (allowed: {allowed})"
                )
        for key, rule in spec.items():
            if key not in data:
                if rule.required:
                    self.add(path, line_of(data), f"{what} is missing required key '{key}'")
                continue
            self._value(path, data[key], rule, f"'{key}'", key_lines.get(key, line), data)

    def _value(
        self, path: str, value: object, rule: Field, what: str, line: int, parent: object
    ) -> None:
        if value is UNREAD or (isinstance(value, list) and UNREAD in value):
            return  # the reader reported it where it stands
        if value is None and not rule.required:
            return
        if not _has_type(value, rule.type):
            hint = _QUOTE_IT if rule.type in ("str", "strs") and _holds_bool(value) else ""
            self.add(
                path, line, f"{what} must be {_TYPE_NAMES[rule.type]}, not {_describe(value)}{hint}"
            )
            return
        if rule.type == "str":
            self._string(path, value, rule, what, line)
        elif rule.type == "strs":
            item_lines = getattr(value, "item_lines", None) or [line] * len(value)
            for item, item_line in zip(value, item_lines, strict=False):
                self._string(path, item, rule, what, item_line)
            if rule.ref or rule.enum:
                self._distinct(path, value, item_lines, what)
        elif rule.type == "record":
            self._record(path, value, rule.spec or {}, what, line)
        elif rule.type == "records":
            for index, item in enumerate(value):
                self._record(
                    path,
                    item,
                    rule.spec or {},
                    f"item {index + 1} of {what}",
                    line_of(value, index, line),
                )
        elif rule.type == "int" and value < 0:
            self.add(path, line, f"{what} must not be negative")

    def _string(self, path: str, value: str, rule: Field, what: str, line: int) -> None:
        if not value.strip():
            self.add(path, line, f"{what} must not be empty")
            return
        if rule.enum and value not in rule.enum:
            self.add(path, line, f"{what} is '{value}', expected one of: {', '.join(rule.enum)}")
        if rule.pattern and not rule.pattern.fullmatch(value):
            expected = _PATTERN_NAMES[rule.pattern]
            shown = f"id '{value}'" if rule.defines else f"{what} '{value}'"
            self.add(path, line, f"{shown} must be {expected}")
        elif rule.pattern is DATE_PATTERN and not _is_date(value):
            self.add(path, line, f"{what} '{value}' is not a date in the calendar")
        if rule.defines:
            self._define(path, rule.defines, value, line)
        if rule.ref:
            self.used.append((rule.ref, value, path, line))

    def _distinct(self, path: str, items: list[str], item_lines: list[int], what: str) -> None:
        """Each id or allowed value at most once in one list, reported at the repeat."""
        first: dict[str, int] = {}
        for item, item_line in zip(items, item_lines, strict=False):
            if item in first:
                where = "" if first[item] == item_line else f" (first at line {first[item]})"
                self.add(path, item_line, f"{what} lists '{item}' more than once{where}")
            else:
                first[item] = item_line

    def _define(self, path: str, namespace: str, value: str, line: int) -> None:
        seen = self.defined.setdefault(namespace, {})
        if value in seen:
            first_path, first_line = seen[value]
            self.add(
                path,
                line,
                f"duplicate {namespace} id '{value}' (first defined at {first_path}:{first_line})",
            )
        else:
            seen[value] = (path, line)


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _has_type(value: object, type_name: str) -> bool:
    if type_name == "str":
        return isinstance(value, str)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "strs":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if type_name == "record":
        return isinstance(value, dict)
    return isinstance(value, list)


_QUOTE_IT = " (YAML reads yes, no, on and off as true or false: quote the word)"


def _holds_bool(value: object) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(isinstance(item, bool) for item in items)


def _describe(value: object) -> str:
    """The value as the curator wrote it, as far as YAML lets us tell; for a list, its first
    item that is not a string, so `aliases: [on, off]` names the item YAML read as true."""
    if value is None:
        return "empty"
    if isinstance(value, (LineDict, dict)):
        return "a mapping"
    if isinstance(value, (LineList, list)):
        odd = next(((n, x) for n, x in enumerate(value, 1) if not isinstance(x, str)), None)
        return "a list" if odd is None else f"a list whose item {odd[0]} is {_describe(odd[1])}"
    return f"{type(value).__name__} {value!r}"[:60]


def check_aliases(
    validation: Validation, sections: dict[str, list], origins: dict[str, list[str]]
) -> None:
    """Ids and aliases share one namespace per kind, so every name a user types is unambiguous."""
    for key, kind in (("contexts", "context"), ("therapies", "therapy")):
        owner: dict[str, str] = {}
        for record, path in zip(sections.get(key, ()), origins.get(key, ()), strict=True):
            aliases = record.get("aliases")
            aliases_line = line_of(record, "aliases")
            # Each name with its own line: the alias's line in a block list (the key's in a
            # flow list), so a repeated alias is reported where it stands.
            names = [(record["id"], line_of(record, "id"))] + [
                (alias, line_of(aliases, index, aliases_line))
                for index, alias in enumerate(aliases if isinstance(aliases, list) else [])
                if isinstance(alias, str)
            ]
            for name, line in names:
                folded = name.casefold()
                if folded in owner and owner[folded] != record["id"]:
                    validation.add(
                        path,
                        line,
                        f"name '{name}' of {kind} '{record['id']}' is already used by "
                        f"'{owner[folded]}'",
                    )
                elif folded in owner:
                    validation.add(path, line, f"alias '{name}' repeats a name of '{record['id']}'")
                owner[folded] = record["id"]


def check_hierarchy(
    validation: Validation, sections: dict[str, list], origins: dict[str, list[str]]
) -> None:
    """Context parents must form a tree: a cycle would make parent matching loop forever."""
    contexts = sections.get("contexts", [])
    parent_of = {c["id"]: c.get("parent") for c in contexts}
    for context, path in zip(contexts, origins.get("contexts", ()), strict=True):
        seen = {context["id"]}
        current = parent_of[context["id"]]
        while isinstance(current, str) and current in parent_of:
            if current in seen:
                # Only the contexts on the cycle are their own ancestors; one that merely
                # leads into a cycle is reported through those.
                if current == context["id"]:
                    validation.add(
                        path,
                        line_of(context, "parent"),
                        f"context '{context['id']}' is its own ancestor",
                    )
                break
            seen.add(current)
            current = parent_of[current]
