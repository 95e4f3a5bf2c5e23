from pathlib import Path

from tests.benchmarks.report import Section, write_benchmarks_md


def test_rewriting_one_benchmark_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_benchmarks_md({"a": [Section("A", ["x"], [["1"]])], "b": [Section("B", ["y"], [["2"]])]}, path)
    write_benchmarks_md({"a": [Section("A", ["x"], [["3"]])]}, path)
    text = path.read_text()
    assert "| 3 |" in text and "| 1 |" not in text
    assert "## B" in text and "| 2 |" in text
