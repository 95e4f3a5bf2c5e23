"""The documentation site, the generated CLI reference and examples/ stay true to the code.

The site is built as `make docs` builds it, with --strict; the CLI reference is regenerated from the
real parsers and compared; the examples' command lines go through the real parser, and the metric
names their dashboard queries are the ones the room, swarm and probe collectors return.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml

from emulator.cli import build_parser
from emulator.net.prometheus import Family
from emulator.qa.probe import ProbeMetrics
from emulator.qa.swarm_metrics import SwarmMetrics
from emulator.room.metrics import RoomMetrics
from emulator.room.server import RoomServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CI_SCRIPT = EXAMPLES / "ci" / "swarm-probe.sh"
DASHBOARD = EXAMPLES / "grafana" / "headset-emulator.json"
SCRAPE = EXAMPLES / "prometheus" / "prometheus.yml"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    return module


# --- the site ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output, output
    # The pages that live outside docs/ are in, and links written for the repository reach them.
    for page in ("index", "security/index", "benchmarks/index", "protocol/index", "signaling/index",
                 "changelog/index", "cli-reference/index", "examples/index"):  # fmt: skip
        assert (site / f"{page}.html").is_file(), page
    assert 'href="../security/"' in (site / "browser" / "index.html").read_text(encoding="utf-8")
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="protocol/"' in home and 'src="demo.png"' in home


def test_links_are_resolved_where_the_file_lives() -> None:
    hooks = _script("docs_hooks")
    # README.md sits at the root, the spec next to its code, the pages in docs/.
    assert (
        hooks.rewrite_links("[h](docs/hands.md#the-states-log)", "index.md") == "[h](hands.md#the-states-log)"
    )
    assert hooks.rewrite_links("[s](SECURITY.md)", "index.md") == "[s](security.md)"
    assert hooks.rewrite_links("[s](../SECURITY.md)", "browser.md") == "[s](security.md)"
    assert hooks.rewrite_links("[b](../../docs/browser.md)", "signaling.md") == "[b](browser.md)"
    # URLs, anchors and files with no page are left for MkDocs to judge.
    for text in ("[u](https://example.org/x.md)", "[a](#top)", "[c](../emulator/cli/room.py)"):
        assert hooks.rewrite_links(text, "browser.md") == text


# --- the CLI reference ------------------------------------------------------------------------------


def test_cli_reference_is_current() -> None:
    reference = _script("cli_reference")
    committed = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == reference.render(build_parser(every=True)), (
        "docs/cli-reference.md is stale: run python scripts/cli_reference.py"
    )


def test_cli_reference_names_every_command_and_option() -> None:
    reference = _script("cli_reference")
    parser = build_parser(every=True)
    page = reference.render(parser)
    for name, sub in reference.subcommands(parser).items():
        assert f"## `headset-emulator {name}`" in page
        for action in sub._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue  # hidden options (demo --in-process) and -h stay out of the page
            for flag in action.option_strings:
                assert re.search(rf"`[^`]*{re.escape(flag)}\b", page), f"{name} {flag}"


def test_cli_reference_keeps_argument_groups() -> None:
    """The generator groups options as the parser does, whatever groups a command adds."""
    reference = _script("cli_reference")
    parser = argparse.ArgumentParser(prog="tool")
    sub = parser.add_subparsers(dest="command").add_parser("run", help="run it")
    timing = sub.add_argument_group("timing", "how long and how often")
    timing.add_argument("--every", default="60s", help="run again after this long")
    sub.add_argument("--loss", type=float, default=0.05, help="loss, e.g. 5%%")
    page = reference.render(parser)
    assert "**timing**\n\nhow long and how often" in page
    assert "| `--every EVERY` | run again after this long | `60s` |" in page
    assert "| `--loss LOSS` | loss, e.g. 5% | `0.05` |" in page


# --- examples/ --------------------------------------------------------------------------------------


def _script_defaults(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(?:export )?(\w+)=\$\{\w+:-([^}$]*)\}", text, re.MULTILINE))


def _headset_commands(text: str) -> list[list[str]]:
    """Each `headset-emulator ...` command of the script, variables filled with their defaults,
    cut where the shell takes over (a pipe, a redirection, `&`)."""
    defaults = {**_script_defaults(text), "URL": "ws://127.0.0.1:8765/ws"}
    commands = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line.startswith("headset-emulator "):
            continue
        filled = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults[m.group(1)], line)
        words = []
        for word in shlex.split(filled, comments=True):
            if word in ("|", "&", "&&", ";") or re.match(r"^\d?>", word):
                break
            words.append(word)
        commands.append(words[1:])
    return commands


def test_ci_script_runs_real_commands() -> None:
    text = CI_SCRIPT.read_text(encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(CI_SCRIPT)], capture_output=True).returncode == 0
    commands = _headset_commands(text)
    assert [argv[0] for argv in commands] == ["room", "probe", "swarm"]
    parser = build_parser(every=True)
    for argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # argparse's way of refusing a command line
            pytest.fail(f"headset-emulator {shlex.join(argv)}: refused by the parser ({exit_})")
        assert getattr(args, "host", "127.0.0.1") == "127.0.0.1"
        assert getattr(args, "url", "ws://127.0.0.1").startswith("ws://127.0.0.1")  # loopback only
    workflow = yaml.safe_load((EXAMPLES / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["swarm-probe"]["steps"]
    assert any(step.get("run") == "bash examples/ci/swarm-probe.sh" for step in steps)


def _collected_names() -> set[str]:
    async def room_families() -> list[Family]:
        return await RoomMetrics(RoomServer(b"docs-secret", "127.0.0.1", 0)).collect()

    swarm: Any = SimpleNamespace(headsets=[], failed=[])
    families = [
        *asyncio.run(room_families()),
        *SwarmMetrics(swarm).collect(),
        *ProbeMetrics().collect(),
    ]
    return {family.name for family in families}


def test_dashboard_queries_metrics_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    queried = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for expr in exprs
        for name in re.findall(r"headset_\w+", expr)
    }
    served = _collected_names()
    assert queried - served == set()
    # Every collector is on the dashboard.
    assert {name.split("_")[1] for name in queried} == {"room", "swarm", "probe"}


def test_scrape_config_uses_the_ports_the_commands_suggest() -> None:
    config = yaml.safe_load(SCRAPE.read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: (job.get("metrics_path", "/metrics"), job["static_configs"][0]["targets"])
        for job in config["scrape_configs"]
    }
    parser = build_parser(every=True)
    for command in ("room", "swarm", "probe"):
        sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
        (metrics,) = (a for a in sub._actions if "--metrics" in a.option_strings)
        example = re.search(r"127\.0\.0\.1:\d+", metrics.help or "")
        assert example is not None
        assert targets[f"headset-{command}"] == ("/metrics", [example.group(0)])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_control_script_says_what_is_wrong_in_one_line() -> None:
    script = str(EXAMPLES / "control_api.py")
    env = {k: v for k, v in os.environ.items() if k != "HEADSET_EMULATOR_CONTROL_TOKEN"}
    no_token = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=30)
    assert no_token.returncode == 2
    assert (
        no_token.stderr.strip() == "control_api: no token: pass --token or set HEADSET_EMULATOR_CONTROL_TOKEN"
    )
    url = f"http://127.0.0.1:{_free_port()}"
    nobody = subprocess.run(
        [sys.executable, script, "--url", url, "--token", "t"], capture_output=True, text=True, timeout=30
    )
    assert nobody.returncode == 1
    assert nobody.stderr.count("\n") == 1 and f"cannot reach {url}" in nobody.stderr
