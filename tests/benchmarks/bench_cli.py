"""The command line's start-up: `--version`, `--help` and `join --help`, before and after lazy imports.

"Before" is the package as it was just before subcommands were imported lazily (the parent of the
commit that added emulator/cli/vocab.py), unpacked with `git archive` into a temporary folder; "now"
is this checkout. Both run in fresh interpreters of this virtualenv, alternating, so they share the
machine's load; wall time is the median of the rounds, modules counted with `python -X importtime`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tests.benchmarks.report import Section

ROUNDS = 5
ROOT = Path(__file__).resolve().parents[2]
COMMANDS: tuple[tuple[str, ...], ...] = (("--version",), ("--help",), ("join", "--help"))
RUN_CLI = "import sys; from emulator.cli import main; sys.exit(main(sys.argv[1:]))"


def before_commit() -> str | None:
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", "emulator/cli/vocab.py"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    return f"{added[-1]}^" if added else None


def unpack(commit: str, into: Path) -> Path:
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, "emulator"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before")  # our own repository's archive
    return into / "before"


def one_run(
    tree: Path, words: tuple[str, ...], *, importtime: bool = False, bare: bool = False
) -> tuple[float, int]:
    """One fresh interpreter running the CLI with `words` (with `bare`, running `words` itself)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    program = list(words) if bare else ["-c", RUN_CLI, *words]
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), *program]
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=tree, capture_output=True, text=True, timeout=120, check=False)
    wall = time.perf_counter() - began
    modules = sum(1 for line in done.stderr.splitlines() if line.startswith("import time:")) - 1
    return wall, modules


def run() -> list[Section]:
    commit = before_commit()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        trees = {"now": ROOT}
        if commit is not None:
            trees["before"] = unpack(commit, Path(tmp))
        walls: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        modules: dict[tuple[str, tuple[str, ...]], int] = {}
        bare = statistics.median(one_run(ROOT, ("-c", "pass"), bare=True)[0] for _ in range(ROUNDS))
        for _ in range(ROUNDS):
            for words in COMMANDS:
                for label, tree in trees.items():
                    walls.setdefault((label, words), []).append(one_run(tree, words)[0])
        for words in COMMANDS:
            for label, tree in trees.items():
                modules[(label, words)] = one_run(tree, words, importtime=True)[1]
    rows = []
    for words in COMMANDS:
        now = statistics.median(walls[("now", words)])
        before = statistics.median(walls[("before", words)]) if "before" in trees else None
        rows.append([
            f"`headset-emulator {' '.join(words)}`",
            "—" if before is None else f"{before:.2f}",
            f"{now:.2f}",
            "—" if before is None else f"{before / now:.1f}×",
            "—" if before is None else str(modules[("before", words)]),
            str(modules[("now", words)]),
            "yes" if now < 0.3 else "no",
        ])  # fmt: skip
    rows.append(["`python -c pass` (the interpreter alone)", "", f"{bare:.2f}", "", "", "", ""])
    load = os.getloadavg()[0]
    return [
        Section(
            f"CLI start-up, seconds (median of {ROUNDS}; goal < 0.3 s each)",
            ["command", "before s", "now s", "faster", "modules before", "modules now", "< 0.3 s"],
            rows,
            [
                f"Before = `{commit}` (the CLI importing every subcommand's module, and with them numpy, "
                "aiortc, PyAV and the headset); now = only the chosen subcommand's module, which imports "
                "what it runs inside its handler.",
                "A fresh interpreter per run (`python -c 'from emulator.cli import main; main(...)'`), the two "
                f"trees alternating; 1-minute load average {load:.1f} at the end on a machine shared with "
                "other engineers' test runs, so compare the columns of one run rather than across runs.",
            ],
        )
    ]
