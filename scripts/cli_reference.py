"""Writes docs/cli-reference.md from `headset-emulator`'s own argparse parsers.

    python scripts/cli_reference.py           # rewrite the page
    python scripts/cli_reference.py --check   # exit 1 if the committed page is stale

Every subcommand, in `--help` order, with its usage line, its options grouped as the parser groups
them, each with its help and default, and the examples its `--help` ends with.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "cli-reference.md"
COMMAND = "python scripts/cli_reference.py"


@dataclass(frozen=True)
class Option:
    flags: str
    help: str
    default: str | None


@dataclass(frozen=True)
class Group:
    title: str
    description: str
    options: tuple[Option, ...]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def groups(parser: argparse.ArgumentParser) -> list[Group]:
    """The parser's argument groups and their options: the one place that reads argparse's
    private structures (_action_groups, _group_actions), which every argparse since 3.2 keeps."""
    found: list[Group] = []
    for group in parser._action_groups:
        options = tuple(
            _option(action)
            for action in group._group_actions
            if action.help is not argparse.SUPPRESS
            and not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
        )
        if options:
            found.append(Group(group.title or "", group.description or "", options))
    return found


def _option(action: argparse.Action) -> Option:
    if action.option_strings:
        metavar = _metavar(action)
        flags = ", ".join(f"{flag} {metavar}".rstrip() for flag in action.option_strings)
    else:
        flags = _metavar(action) or action.dest
    text = " ".join((action.help or "").split())
    if "%(" in text:
        text = text % {**vars(action), "prog": "headset-emulator"}
    text = text.replace("%%", "%")
    # A help that states its default already says it in the words the user types ("20s", not 20.0).
    return Option(flags, text, None if "default" in text else _default(action))


def _metavar(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.metavar is not None:
        return action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return "{" + ",".join(str(choice) for choice in action.choices) + "}"
    name = action.dest.upper() if action.option_strings else action.dest
    return {"?": f"[{name}]", "*": f"[{name} ...]", "+": f"{name} [{name} ...]"}.get(str(action.nargs), name)


def _default(action: argparse.Action) -> str | None:
    """The default, when it tells the reader something (not None, False for a flag, or suppressed)."""
    default = action.default
    if default is None or default is argparse.SUPPRESS or action.nargs == 0 or default == []:
        return None
    return str(default)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(parser: argparse.ArgumentParser) -> str:
    lines = [
        "# Command-line reference",
        "",
        f"Generated from the argparse parsers by `{COMMAND}`; run it again after changing an option",
        "(a test fails while this page is stale). `headset-emulator COMMAND --help` says the same.",
        "",
    ]
    lines += _section(parser, parser.prog, "")
    helps = {action.dest: action.help or "" for action in _choices_actions(parser)}
    for name, sub in subcommands(parser).items():
        lines += _section(sub, f"{parser.prog} {name}", helps.get(name, ""))
    return "\n".join(lines).rstrip() + "\n"


def _section(parser: argparse.ArgumentParser, title: str, summary: str) -> list[str]:
    usage = " ".join(parser.format_usage().removeprefix("usage: ").split())
    lines = [f"## `{title}`", ""]
    about = parser.description or summary
    if about:
        lines += [" ".join(about.split()), ""]
    lines += ["```", usage, "```", ""]
    if parser.epilog:  # the examples `--help` ends with, as written there
        lines += ["```", parser.epilog.rstrip(), "```", ""]
    commands = subcommands(parser)
    if commands:
        lines += ["| command | what it does |", "| --- | --- |"]
        helps = {action.dest: action.help or "" for action in _choices_actions(parser)}
        lines += [f"| `{name}` | {_cell(' '.join(helps.get(name, '').split()))} |" for name in commands]
        lines.append("")
    for group in groups(parser):
        lines += [f"**{group.title}**", ""]
        if group.description:
            lines += [" ".join(group.description.split()), ""]
        lines += ["| option | help | default |", "| --- | --- | --- |"]
        for option in group.options:
            default = f"`{_cell(option.default)}`" if option.default not in (None, "") else ""
            lines.append(f"| `{_cell(option.flags)}` | {_cell(option.help)} | {default} |")
        lines.append("")
    return lines


def _choices_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action._choices_actions)
    return []


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description="Write docs/cli-reference.md from the CLI's parsers.")
    options.add_argument("--check", action="store_true", help="only say whether the page is stale")
    args = options.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from emulator.cli import build_parser

    text = render(build_parser(every=True))  # every command's options, not only one command's
    if args.check:
        if PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
