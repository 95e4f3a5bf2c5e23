"""What every benchmark returns and how `make bench` writes BENCHMARKS.md.

Each benchmark module `tests/benchmarks/bench_*.py` has `run() -> list[Section]`. Figures compare
side by side within one run (a ratio to a baseline measured in the same process), because these
machines are noisy; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(f"- {n}" for n in self.notes)
        lines.append("")
        return "\n".join(lines)

    def text(self) -> str:
        widths = [
            max(len(str(x)) for x in [c, *[r[i] for r in self.rows]]) for i, c in enumerate(self.columns)
        ]
        out = [self.title, "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        out.extend("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in self.rows)
        out.extend(f"  * {n}" for n in self.notes)
        return "\n".join(out) + "\n"


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, commit {commit or 'unknown'}"
    )


def write_benchmarks_md(sections_by_module: dict[str, list[Section]], path: Path) -> None:
    """Replace the sections of the modules that ran; keep the others' last figures as they were."""
    blocks: dict[str, str] = {}
    if path.exists():
        current: str | None = None
        for line in path.read_text().splitlines(keepends=True):
            if line.startswith("<!-- bench:") and line.rstrip().endswith("-->"):
                current = line.strip()[len("<!-- bench:") : -len("-->")].strip()
                blocks[current] = ""
            elif current is not None:
                blocks[current] += line
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for module, sections in sections_by_module.items():
        body = f"_Measured {now} on {machine_description()}._\n\n"
        body += "\n".join(s.markdown() for s in sections)
        blocks[module] = body
    header = (
        "# Benchmarks\n\n"
        "Written by `make bench` (`python -m tests.benchmarks [NAME…]`). Each block says when and on what\n"
        "machine it was measured; figures compare side by side within one run.\n\n"
    )
    # Each kept block is stripped of its trailing blank lines, so they do not pile up run after run.
    text = header + "".join(
        f"<!-- bench:{name} -->\n{blocks[name].rstrip()}\n\n\n" for name in sorted(blocks)
    )
    path.write_text(text.rstrip() + "\n")
