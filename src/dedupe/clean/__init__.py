"""Boilerplate cleaning (``dedupe clean``): a rule registry and the cleaner that runs it.

Public API::

    from dedupe.clean import Cleaner, RULES, Rule, load_rules_file, find_recurring_lines
"""

from __future__ import annotations

from dedupe.clean.cleaner import (
    Cleaner,
    find_recurring_lines,
    load_rules_file,
    recurring_line_keys,
    select_recurring,
)
from dedupe.clean.rules import RULES, LineContext, LineInfo, Rule, normalize_line

__all__ = [
    "RULES",
    "Cleaner",
    "LineContext",
    "LineInfo",
    "Rule",
    "find_recurring_lines",
    "load_rules_file",
    "normalize_line",
    "recurring_line_keys",
    "select_recurring",
]
