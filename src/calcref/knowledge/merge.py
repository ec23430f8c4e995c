"""Stack knowledge layers: the base, then each overlay in order, record by record.

An overlay adds records; it replaces an earlier record with the same id only when it says
`replace: true`, so a clinic's file can never shadow a bundled fact by accident. Every record
remembers the file it came from, so every answer can say where each record came from.
"""

from __future__ import annotations

from typing import Any

from calcref.knowledge.rules import Validation
from calcref.knowledge.yamlread import line_of
from calcref.model import NAMESPACES, SECTIONS, identity

_SINGULAR = {kind: namespace for namespace, kind in NAMESPACES.items()}


class Merged:
    """The records of every section in stack order, and the file each one came from."""

    def __init__(self) -> None:
        self.sections: dict[str, list[Any]] = {}
        self.origins: dict[str, list[str]] = {}
        self._where: dict[str, dict[str, tuple[int, str, int]]] = {}

    def add_file(self, validation: Validation, path: str, data: dict[str, Any]) -> None:
        """Fold one shape-checked file in; conflicts become problems at the overlay's line."""
        for kind, records in data.items():
            if kind not in SECTIONS or not isinstance(records, list):
                continue  # the schema check has reported it
            self.sections.setdefault(kind, [])
            self.origins.setdefault(kind, [])
            for index, record in enumerate(records):
                if isinstance(record, dict):
                    self._add(validation, path, kind, record, line_of(records, index))

    def _add(
        self, validation: Validation, path: str, kind: str, record: dict[str, Any], line: int
    ) -> None:
        key_name = identity(kind)
        if key_name is None:  # records without identity are always added
            self._append(kind, record, path)
            return
        key = record.get(key_name)
        if not isinstance(key, str):
            return  # the schema check has reported the missing or malformed key
        seen = self._where.setdefault(kind, {})
        what = f"{_SINGULAR[kind]} '{key}'"
        if key not in seen:
            if record.get("replace") is True:
                validation.add(path, line, f"'replace: true', but no earlier {what} to replace")
            seen[key] = (len(self.sections[kind]), path, line)
            self._append(kind, record, path)
            return
        position, first_path, first_line = seen[key]
        if first_path == path:
            return  # a duplicate within one file: the schema check has reported it
        if record.get("replace") is not True:
            validation.add(
                path,
                line,
                f"{what} is already defined at {first_path}:{first_line}; "
                "add 'replace: true' to replace it",
            )
            return
        self.sections[kind][position] = record
        self.origins[kind][position] = path
        seen[key] = (position, path, line)

    def _append(self, kind: str, record: dict[str, Any], path: str) -> None:
        self.sections[kind].append(record)
        self.origins[kind].append(path)

    def stamped(self) -> dict[str, list[Any]]:
        """The sections with each record's `source_file` set, as the model receives them."""
        for kind, records in self.sections.items():
            for record, path in zip(records, self.origins[kind], strict=True):
                record.pop("replace", None)
                record["source_file"] = path
        return self.sections
