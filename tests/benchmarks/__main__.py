"""`python -m tests.benchmarks [NAME …]`: run benchmarks, print their tables, update BENCHMARKS.md."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from tests.benchmarks.report import Section, write_benchmarks_md

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    available = sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))
    chosen = names or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    results: dict[str, list[Section]] = {}
    for name in chosen:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"tests.benchmarks.bench_{name}")
        sections: list[Section] = module.run()
        for section in sections:
            print(section.text(), flush=True)
        results[name] = sections
    write_benchmarks_md(results, HERE.parents[1] / "BENCHMARKS.md")
    print("BENCHMARKS.md updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
