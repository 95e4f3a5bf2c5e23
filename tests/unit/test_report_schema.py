"""The report reference page is the schema's, and the schema describes what the code writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.qa.report_schema import load_schema, render_markdown
from emulator.qa.swarm import aggregate
from tests.support.reports import check_report, nulls_without_why

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def test_the_reference_page_is_generated_from_the_schema() -> None:
    assert PAGE.read_text() == render_markdown(load_schema()), (
        "docs/reports.md is stale: python -m emulator.qa.report_schema > docs/reports.md"
    )


def test_every_field_of_the_schema_is_described() -> None:
    def walk(node: dict[str, object], path: str) -> list[str]:
        missing = [] if node.get("description") or "$ref" in node else [path]
        for key, child in dict(node.get("properties", {})).items():  # type: ignore[call-overload]
            missing += walk(child, f"{path}.{key}")
        items = node.get("items")
        if isinstance(items, dict):
            missing += walk(items, f"{path}[]")
        return missing

    schema = load_schema()
    assert [m for name, node in schema["$defs"].items() for m in walk(node, name)] == []


def test_an_undocumented_field_or_a_null_without_why_is_caught() -> None:
    swarm = aggregate([], [])
    check_report(swarm)  # an empty swarm: every null explained
    with pytest.raises(AssertionError, match="does not match"):
        check_report({**swarm, "surprise": 1})
    assert nulls_without_why({"a": None, "b": {"c": None, "c_why": "x"}, "d": [{"e": None, "why": "y"}]}) == [
        "a"
    ]
