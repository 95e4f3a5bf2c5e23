"""The README stays a front page, and what it and docs/ point at or show still exists."""

import re
import shlex
from pathlib import Path

import pytest

from emulator.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
# The generated CLI reference quotes the parser's own usage lines (test_docs_site checks it is current).
EXAMPLE_PAGES = [page for page in PAGES if page.name != "cli-reference.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.M | re.S)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _commands(page: Path) -> list[str]:
    """The `headset-emulator …` lines in the page's code blocks, continuation lines joined."""
    found = []
    for block in FENCE.findall(page.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(".venv/bin/"):
                line = line.removeprefix(".venv/bin/")
            line = line.removesuffix("&").strip()  # started in the background: the command is the same
            # usage synopses (the generated CLI reference) are the parser's own words, not examples
            if line.startswith("headset-emulator ") and "…" not in line and "[-h]" not in line:
                found.append(line)
    return found


def test_the_readme_is_a_front_page_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    quick_start = readme.split("## Quick start", 1)[1]
    first_block = FENCE.search(quick_start)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "](docs/demo.png)" in readme and (ROOT / "docs" / "demo.png").is_file()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_reaches_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        # the heading is looked for only in a page that exists
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: p.name)
def test_every_example_command_parses(page: Path) -> None:
    for line in _commands(page):
        words = shlex.split(line)[1:]
        try:
            build_parser(words[0]).parse_args(words)
        except SystemExit as exit_:
            pytest.fail(f"{page.relative_to(ROOT)}: `{line}` does not parse (exit {exit_.code})")
