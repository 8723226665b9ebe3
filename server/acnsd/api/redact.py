"""What an API client is told of a refused change: its own resources only, no server path.

Rule owned here (R11: refusals never reveal another account). A problem of the
configuration is shown in full (file, line, YAML path, rule) to a token that may see every
account the problem concerns: an operator token ("*") sees everything. A token that sees
only some of them is shown the problem's tenant message (what the account may know: the
rule and its own name, never the other account nor its zones). A problem that concerns no
account of the token (another account's broken zone file, the server's own settings) is
replaced by one generic message and logged in full for the operator. No answer holds an
absolute path of the server: files are named relative to the configuration's directory,
or by their last part when they lie elsewhere.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem
from ..model.assign import UNIQUE
from .auth import Grant
from .edit import Rejected

__all__ = ["OUTSIDE", "Paths", "refusal", "rule_code"]

log = logging.getLogger("acnsd.api")

# Rules whose breach is a conflict with what exists (409; R7: a pool exhausted; unique: a
# zone or account id already configured), not a malformed request (400).
CONFLICT_RULES = {"R3", "R4", "R5", "R6", "R7", "R11", UNIQUE}
# Error codes of the rules without a number (Cloudflare's 1061: the zone already exists)
RULE_CODES = {UNIQUE: 1061}
# The problems of other accounts or of the server: 503, the one thing the caller is told.
OUTSIDE_STATUS = 503
OUTSIDE = (1022, "the server's configuration has a problem outside your account; the "
                 "operator has been told")
# An absolute path left in a message (one outside the configuration's directory).
_ABSOLUTE = re.compile(r"(?<![\w./:-])/(?:[\w.@+-]+/)+[\w.@+-]*")


def rule_code(problem: Problem) -> int:
    """Error code of a broken rule: 1000 + n for Rn, RULE_CODES for the named rules, 1000
    for any other configuration problem."""
    rule = problem.rule or ""
    if rule[:1] == "R" and rule[1:].isdigit():
        return 1000 + int(rule[1:])
    return RULE_CODES.get(rule, 1000)


@dataclass(frozen=True)
class Paths:
    """How answers name the server's files: relative to the configuration's directory; a
    file elsewhere by its last part only."""

    base: Path  # the configuration file's directory

    def file(self, name: str) -> str:
        relative = os.path.relpath(name, self.base)
        return os.path.basename(name) if relative.startswith("..") else relative

    def text(self, text: str) -> str:
        """`text` with the configuration's directory left out of the paths it names (and
        any other absolute path cut to its last part)."""
        spellings = {os.path.abspath(self.base) + os.sep}
        if not self.base.is_absolute() and str(self.base) != ".":
            spellings.add(str(self.base) + os.sep)
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, "")
        return _ABSOLUTE.sub(lambda m: m[0].rstrip("/").rpartition("/")[2], text)


def _shown(problem: Problem, grant: Grant, paths: Paths) -> str | None:
    """What `grant` is told of `problem`; None: nothing (it is not the caller's)."""
    concerned = problem.accounts
    if grant.everything or (concerned and all(map(grant.allows, concerned))):
        if problem.file:
            problem = dataclasses.replace(problem, file=paths.file(problem.file))
        return paths.text(str(problem))
    if problem.tenant_message and any(map(grant.allows, concerned)):
        rule = f"[{problem.rule}] " if problem.rule else ""
        return paths.text(f"{rule}{problem.tenant_message}")
    return None


def _status(problems: Iterable[Problem]) -> int:
    conflict = any(p.rule in CONFLICT_RULES for p in problems)
    return 409 if conflict else 400


def refusal(problems: list[Problem], grant: Grant, paths: Paths) -> Rejected:
    """The answer to a change the rules refuse, as `grant` may see it."""
    shown: list[tuple[Problem, str]] = []
    hidden = False
    for problem in problems:
        text = _shown(problem, grant, paths)
        if text is None:
            hidden = True
            log.warning("event=api_refused_outside_account accounts=%s problem=%r",
                        ",".join(sorted(grant.accounts)), str(problem))
        else:
            shown.append((problem, text))
    errors = list(dict.fromkeys((rule_code(p), text) for p, text in shown))  # once each
    if hidden:
        errors.append(OUTSIDE)
    return Rejected(_status(p for p, _ in shown) if shown else OUTSIDE_STATUS, errors)
