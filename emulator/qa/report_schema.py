"""The reports' JSON Schema (`report.schema.json`, shipped beside this module) and the reference page
rendered from it (docs/reports.md: `python -m emulator.qa.report_schema > docs/reports.md`)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "report.schema.json"
SECTIONS = (
    ("headset", "A headset's report (`join`, `agent`, each swarm member)"),
    ("remote", "A remote (`remotes[]`): one pair, listener <- speaker"),
    ("swarm", "A swarm's report"),
)


def load_schema() -> dict[str, Any]:
    text = resources.files("emulator.qa").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return str(node["$ref"]).rsplit("/", 1)[-1] + " (below)"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds and "items" in node:
        return f"array of {_type(node['items'])}".replace("array of object", "array of objects")
    return " or ".join(kinds)


def _rows(node: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(node.get("required", []))
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        note = "" if key in required else " (optional)"
        description = child.get("description", "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{path}` | {_type(child)}{note} | {description} |")
        if "properties" in child:
            rows += _rows(child, f"{path}.")
        items = child.get("items", {})
        if "properties" in items:
            rows += _rows(items, f"{path}[].")
    return rows


def render_markdown(schema: dict[str, Any]) -> str:
    """The reference page: one table per kind of object, every field with its type and meaning."""
    lines = [
        "# Reports",
        "",
        "<!-- Generated from emulator/qa/report.schema.json by"
        " `python -m emulator.qa.report_schema > docs/reports.md`: edit the schema, not this page. -->",
        "",
        schema["description"],
        "",
        "Tools can validate a report against the JSON Schema shipped in the package:"
        " `emulator/qa/report.schema.json` (`emulator.qa.report_schema.load_schema()`).",
        "Times called `at` are seconds on the process's monotonic clock; `*_at` and `at_utc` are"
        " wall-clock ISO 8601 UTC. Latencies come as the whole run's figures and, under `settled`,"
        " those after start-up (a stream's first 3 s).",
    ]
    for name, title in SECTIONS:
        node = schema["$defs"][name]
        lines += [
            "",
            f"## {title}",
            "",
            node["description"],
            "",
            "| field | type | meaning |",
            "|---|---|---|",
        ]
        lines += _rows(node, "")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(load_schema()), end="")
