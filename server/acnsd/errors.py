"""The error types of each layer, and how a configuration problem is reported.

A configuration problem always says where (file, line when known, YAML path) and which
rule it breaks; all problems found are collected and raised together as one ConfigError.
It also says whose resources it concerns (`accounts`), so that the management API can tell
each account only about its own (R11: refusals never reveal another account).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AcnsdError", "ConfigError", "Problem", "StateError"]


class AcnsdError(Exception):
    """Base of every error acnsd reports to an operator."""


@dataclass(frozen=True)
class Problem:
    """One error or warning, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    path: str | None = None  # YAML path, e.g. accounts[0].custom_nameservers[3].ns_name
    rule: str | None = None  # e.g. "R5"
    # The accounts whose resources the problem concerns; none: the server's own settings.
    accounts: tuple[str, ...] = ()
    # What an API client that may see only some of `accounts` is told instead of `message`
    # (None: such a client is told nothing of this problem).
    tenant_message: str | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.path:
            parts.append(self.path)
        head = ": ".join(parts)
        rule = f"[{self.rule}] " if self.rule else ""
        return f"{head}: {rule}{self.message}"


class ConfigError(AcnsdError):
    """The configuration (or a zone file) is invalid; every problem found is listed."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class StateError(AcnsdError):
    """The machine-owned state file cannot be read or written."""
