"""The command line's start-up: `--version`, `--help` and `join --help`, before and after lazy imports.

"Before" is the package as it was just before subcommands were imported lazily (the parent of the
commit that added emulator/cli/vocab.py), unpacked with `git archive` into a temporary folder; "now"
is this checkout. Both run in fresh interpreters of this virtualenv, alternating, so they share the
machine's load; wall time is the median of the rounds, modules counted with `python -X importtime`.
"""

from __future__ import annotations

import os
import resource
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


def unpack(commit: str, into: Path, paths: tuple[str, ...] = ("emulator",)) -> Path:
    """`paths` of this repository at `commit`, in `into`/before."""
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, *paths], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before")  # our own repository's archive
    return into / "before"


def one_run(
    tree: Path, words: tuple[str, ...], *, importtime: bool = False, bare: bool = False
) -> tuple[float, float, int]:
    """One fresh interpreter running the CLI with `words` (with `bare`, running `words` itself):
    its wall time, its CPU time (user + system, less sensitive to the machine's load), modules."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    program = list(words) if bare else ["-c", RUN_CLI, *words]
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), *program]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=tree, capture_output=True, text=True, timeout=120, check=False)
    wall = time.perf_counter() - began
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    modules = sum(1 for line in done.stderr.splitlines() if line.startswith("import time:")) - 1
    return wall, cpu, modules


def run() -> list[Section]:
    commit = before_commit()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        trees = {"now": ROOT}
        if commit is not None:
            trees["before"] = unpack(commit, Path(tmp))
        walls: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        cpus: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        modules: dict[tuple[str, tuple[str, ...]], int] = {}
        bare_runs = [one_run(ROOT, ("-c", "pass"), bare=True) for _ in range(ROUNDS)]
        bare = statistics.median(w for w, _, _ in bare_runs), statistics.median(c for _, c, _ in bare_runs)
        for _ in range(ROUNDS):
            for words in COMMANDS:
                for label, tree in trees.items():
                    wall, cpu, _ = one_run(tree, words)
                    walls.setdefault((label, words), []).append(wall)
                    cpus.setdefault((label, words), []).append(cpu)
        for words in COMMANDS:
            for label, tree in trees.items():
                modules[(label, words)] = one_run(tree, words, importtime=True)[2]
    rows = []
    for words in COMMANDS:
        now = statistics.median(walls[("now", words)])
        now_cpu = statistics.median(cpus[("now", words)])
        has_before = "before" in trees
        before = statistics.median(walls[("before", words)]) if has_before else 0.0
        before_cpu = statistics.median(cpus[("before", words)]) if has_before else 0.0
        rows.append([
            f"`headset-emulator {' '.join(words)}`",
            f"{before:.2f}" if has_before else "—",
            f"{now:.2f}",
            f"{before_cpu:.2f}" if has_before else "—",
            f"{now_cpu:.2f}",
            f"{before_cpu / now_cpu:.1f}×" if has_before and now_cpu else "—",
            str(modules[("before", words)]) if has_before else "—",
            str(modules[("now", words)]),
        ])  # fmt: skip
    rows.append(
        ["`python -c pass` (the interpreter alone)", "", f"{bare[0]:.2f}", "", f"{bare[1]:.2f}", "", "", ""]
    )
    load = os.getloadavg()[0]
    return [
        Section(
            f"CLI start-up (median of {ROUNDS}; goal < 0.3 s each)",
            [
                "command",
                "wall s before",
                "wall s now",
                "CPU s before",
                "CPU s now",
                "CPU before / now",
                "modules before",
                "modules now",
            ],
            rows,
            [
                f"Before = `{commit}` (the CLI importing every subcommand's module, and with them numpy, "
                "aiortc, PyAV and the headset); now = only the chosen subcommand's module, which imports "
                "what it runs inside its handler.",
                "A fresh interpreter per run (`python -c 'from emulator.cli import main; main(...)'`), the two "
                f"trees alternating; 1-minute load average {load:.1f} at the end on a machine shared with "
                "other engineers' test runs: wall time waits for a core, so the CPU time (user + system "
                "of the child) is the steadier figure; compare within one run.",
            ],
        )
    ]
