"""Golden fixtures: the bytes of every message type are pinned; a change to them is a protocol change."""

from pathlib import Path

import pytest

from emulator.wire import MessageType, from_json, parse_message, to_json
from tests.support.wire_samples import samples

FIXTURES = Path(__file__).parents[1] / "fixtures" / "wire"
SAMPLES = samples()


def test_fixtures_cover_every_message_type_and_nothing_is_stale() -> None:
    assert {m.TYPE for m in SAMPLES.values()} == set(MessageType)
    assert {p.stem for p in FIXTURES.glob("*.bin")} == set(SAMPLES)
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_encoder_still_writes_the_fixture_bytes(name: str) -> None:
    assert bytes(SAMPLES[name]) == (FIXTURES / f"{name}.bin").read_bytes()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_fixture_parses_and_reencodes_identically(name: str) -> None:
    data = (FIXTURES / f"{name}.bin").read_bytes()
    message = parse_message(data)
    assert type(message) is type(SAMPLES[name])
    assert bytes(message) == data


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_json_fixture_is_the_twin_of_the_binary_one(name: str) -> None:
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8").strip()
    assert to_json(SAMPLES[name]) == text
    assert bytes(from_json(text)) == (FIXTURES / f"{name}.bin").read_bytes()
    assert to_json(parse_message((FIXTURES / f"{name}.bin").read_bytes())) == text
