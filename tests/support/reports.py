"""Reading the reports the suite's commands write: each one is checked against the shipped JSON
Schema, and every null in it must have its `why` (or `FIELD_why`) beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from emulator.qa.report_schema import load_schema

_validator = jsonschema.Draft202012Validator(load_schema())


def nulls_without_why(value: Any, path: str = "") -> list[str]:
    """Paths of null fields with neither a `why` nor a `FIELD_why` beside them."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None and "why" not in value and f"{key}_why" not in value:
                found.append(f"{path}{key}")
            found += nulls_without_why(child, f"{path}{key}.")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += nulls_without_why(child, f"{path}{index}.")
    return found


def check_report(report: dict[str, Any]) -> dict[str, Any]:
    """`report` if it is valid and explains its nulls; AssertionError naming what is wrong if not."""
    errors = sorted(_validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    detail = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:5]]
    for error in errors[:1]:
        detail += [f"  {c.message[:200]}" for c in (error.context or [])[:8]]
    assert not errors, "report does not match report.schema.json:\n" + "\n".join(detail)
    unexplained = nulls_without_why(report)
    assert not unexplained, f"null without a why: {unexplained[:10]}"
    return report


def read_report(path: Path) -> dict[str, Any]:
    """The report a command wrote to `path` (`--report`), checked."""
    report: dict[str, Any] = json.loads(path.read_text())
    return check_report(report)
