"""Errors the library raises; the CLI turns them into one-line messages and exit codes."""

from __future__ import annotations

from calcref.model import Value


class Problem(Value):
    """One thing wrong with a knowledge file, located so a curator can go straight to it."""

    path: str
    line: int
    message: str
    rule: str = "load"  # which check found it: the loader's, or a curator's rule by name

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CalcrefError(Exception):
    """Base of every error calcref reports to the user (exit code 1)."""


class KnowledgeError(CalcrefError):
    """The knowledge files are missing or invalid; nothing from them is used."""

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = problems if isinstance(problems, list) else []
        text = problems if isinstance(problems, str) else "; ".join(map(str, problems))
        super().__init__(text)


PLURALS = {"therapy": "therapies", "kind of source": "kinds of source"}


class UnknownValueError(CalcrefError):
    """A user-supplied id that names nothing; carries the valid choices and a suggestion."""

    def __init__(self, kind: str, value: str, choices: list[str], suggestion: str | None) -> None:
        self.kind, self.value, self.choices, self.suggestion = kind, value, choices, suggestion
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        plural = PLURALS.get(kind, f"{kind}s")
        super().__init__(
            f"unknown {kind} '{value}': not in calcref's knowledge{hint}; "
            f"valid {plural}: {', '.join(choices)}"
        )


class AmbiguousValueError(CalcrefError):
    """A name that means more than one thing ("scleroderma"); calcref asks rather than guess."""

    def __init__(self, value: str, why: str, choices: tuple[str, ...]) -> None:
        self.value, self.choices = value, choices
        options = " or ".join(f"--context {c}" for c in choices)
        super().__init__(f"{why.rstrip('.')}: use {options}")
