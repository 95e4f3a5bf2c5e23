"""MkDocs hooks (mkdocs.yml `hooks:`): bring the Markdown files that live outside docs/ into the site.

MkDocs reads only docs/, but README.md, SECURITY.md, BENCHMARKS.md and the two specs next to their
code are pages too. They are added as generated pages (no copy on disk to go stale), and every
relative link in every page is resolved where its file lives in the repository, then pointed at that
file's page, so `../SECURITY.md` in docs/browser.md and `docs/hands.md` in README.md both work.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent

# Site page → the repository file it shows (pages under docs/ map to themselves).
OUTSIDE_PAGES = {
    "index.md": "README.md",
    "security.md": "SECURITY.md",
    "benchmarks.md": "BENCHMARKS.md",
    "changelog.md": "CHANGELOG.md",
    "signaling.md": "emulator/room/SIGNALING.md",
    "wire-protocol.md": "emulator/wire/PROTOCOL.md",
    "recording-format.md": "emulator/headset/recording/RECORDING.md",
}
LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")


def repo_path(page: str) -> str:
    return OUTSIDE_PAGES.get(page, f"docs/{page}")


def page_for(repo_file: str) -> str | None:
    for page, source in OUTSIDE_PAGES.items():
        if source == repo_file:
            return page
    return repo_file.removeprefix("docs/") if repo_file.startswith("docs/") else None


def rewrite_links(markdown: str, page: str) -> str:
    """Relative links of `page`, written for where its file lives in the repository, made to point
    at the site's pages; anything else (URLs, anchors, files with no page) is left for MkDocs to check."""
    source_dir = posixpath.dirname(repo_path(page))
    page_dir = posixpath.dirname(page)

    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        resolved = posixpath.normpath(posixpath.join(source_dir, target))
        new_page = page_for(resolved)
        if new_page is None:
            return match.group(0)
        relative = posixpath.relpath(new_page, page_dir or ".")
        return f"{match.group(1)}{relative}{match.group(3) or ''}{match.group(4)}"

    return LINK.sub(replace, markdown)


def on_files(files: Files, config: Any) -> Files:
    for page, source in OUTSIDE_PAGES.items():
        files.append(File.generated(config, page, abs_src_path=str(ROOT / source)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return rewrite_links(markdown, page.file.src_uri)
