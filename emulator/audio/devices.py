"""Choosing audio devices: input and output specs (`OutputSpec`), the device list, the silent fallback.

A spec is one of:
- `default` (or nothing): the system's default device; with no sound card (or no PortAudio), the
  silent backend, so headless runs and CI work without one;
- `silent` (or `none`): the silent backend on purpose;
- `wav:FILE` (output only): record the binaural mix to a WAV file;
- a device index from `headset-emulator devices`, or part of a device name (case-insensitive).

A device that was asked for by name or index and cannot be had is a `DeviceError` naming it; only
`default` falls back to silence (with a warning). sounddevice is imported lazily: PortAudio reads the
environment (PULSE_SERVER, ALSA_CONFIG_PATH) when it starts, and `reinitialise()` restarts it after
the environment changed, as the PulseAudio test fixture does. Importing this module registers the
`mic[:DEVICE]` kind with `emulator.audio.factory.open_source`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

from emulator.audio.backends import AudioOutput, SilentOutput, WavOutput
from emulator.audio.factory import register_source
from emulator.audio.source import AudioSource
from emulator.audio.tone import SilenceSource
from emulator.audio.wavfile import SourceError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]
T = TypeVar("T")
SILENT_NAMES = ("silent", "none", "null")


class DeviceError(RuntimeError):
    """An audio device that was asked for and cannot be used; the message says which and why."""


class OutputSpecError(DeviceError, ValueError):
    """An output spec that does not parse: a device problem to `open_output`'s callers, and a bad value
    (a ValueError, like every spec's parse error) to whoever parses it."""


@dataclass(frozen=True)
class OutputSpec:
    """An `--output` value: the default card, silence, a WAV file or a device by index or part of its
    name. Checked here; the device is looked up and opened by `open()`, when the ears open, since
    cards come and go."""

    text: str  # as written
    kind: Literal["default", "silent", "wav", "device"]
    target: str = ""  # the WAV file, or the device's index or name

    @classmethod
    def parse(cls, text: str) -> OutputSpec:
        """The spec `text` names; an `OutputSpecError` names the value and what is accepted."""
        name = text.strip()
        if name.lower() in SILENT_NAMES:
            return cls(text, "silent")
        if name.lower().startswith("wav:"):
            if not name[4:]:
                raise OutputSpecError(f"output {text!r}: wav:FILE needs a file name")
            return cls(text, "wav", name[4:])
        if not name or name.lower() == "default":
            return cls(text, "default")
        return cls(text, "device", name)

    def open(self) -> AudioOutput:
        return open_output(self.text)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    index: int
    name: str
    host_api: str
    input_channels: int
    output_channels: int
    default_sample_rate: float
    default_input: bool
    default_output: bool

    def channels(self, kind: Kind) -> int:
        return self.input_channels if kind == "input" else self.output_channels


_sd: ModuleType | None = None
_sd_problem: str | None = None


def sounddevice_module() -> ModuleType | None:
    """sounddevice, imported on first use; None (and a reason in `portaudio_problem()`) without it."""
    global _sd, _sd_problem
    if _sd is None and _sd_problem is None:
        try:
            import sounddevice

            _sd = sounddevice
        except OSError as error:  # the PortAudio library itself is missing
            _sd_problem = f"PortAudio is not available ({error})"
            log.warning("%s: audio devices are silent", _sd_problem)
    return _sd


def portaudio_problem() -> str | None:
    return _sd_problem


def reinitialise() -> None:
    """Restart PortAudio so it sees devices (and environment) that appeared since it started."""
    sd = sounddevice_module()
    if sd is not None:
        sd._terminate()
        sd._initialize()


def list_devices() -> list[DeviceInfo]:
    """Every PortAudio device, inputs and outputs; empty without PortAudio."""
    sd = sounddevice_module()
    if sd is None:
        return []
    try:
        raw: Any = sd.query_devices()
        host_apis: Any = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as error:
        log.warning("cannot list audio devices: %s", error)
        return []
    devices = []
    for entry in raw:
        index = int(entry["index"])
        devices.append(
            DeviceInfo(
                index=index,
                name=str(entry["name"]),
                host_api=str(host_apis[entry["hostapi"]]["name"]),
                input_channels=int(entry["max_input_channels"]),
                output_channels=int(entry["max_output_channels"]),
                default_sample_rate=float(entry["default_samplerate"]),
                default_input=index == default_in,
                default_output=index == default_out,
            )
        )
    return devices


def resolve_device(spec: str, kind: Kind, devices: list[DeviceInfo] | None = None) -> DeviceInfo:
    """The device a user means by an index or a piece of its name."""
    devices = list_devices() if devices is None else devices
    usable = [d for d in devices if d.channels(kind) > 0]
    if not usable:
        reason = portaudio_problem() or f"no {kind} devices"
        raise DeviceError(f"{kind} device {spec!r}: {reason}")
    if spec.strip().isdigit():
        index = int(spec)
        for device in usable:
            if device.index == index:
                return device
        raise DeviceError(f"no {kind} device with index {index}; {kind}s: {_names(usable)}")
    wanted = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == wanted]
    matches = exact or [d for d in usable if wanted in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceError(f"no {kind} device matches {spec!r}; {kind}s: {_names(usable)}")
    raise DeviceError(f"{kind} device {spec!r} is ambiguous: {_names(matches)}")


def _names(devices: list[DeviceInfo]) -> str:
    return ", ".join(f"{d.index} {d.name!r}" for d in devices)


def _default_device(kind: Kind) -> DeviceInfo | None:
    devices = [d for d in list_devices() if d.channels(kind) > 0]
    for device in devices:
        if device.default_input if kind == "input" else device.default_output:
            return device
    return devices[0] if devices else None


def open_output(spec: str | None = None) -> AudioOutput:
    """An output for the binaural mix; see the module docstring for the specs."""
    text = (spec or "default").strip()
    if text.lower() in SILENT_NAMES:
        return SilentOutput()
    if text.lower().startswith("wav:"):
        path = Path(OutputSpec.parse(text).target)
        try:
            return WavOutput(path)
        except OSError as error:
            raise DeviceError(f"cannot write {path}: {error.strerror or error}") from None
    from emulator.audio.portaudio import PortAudioOutput

    card: Callable[..., AudioOutput] = PortAudioOutput
    return _open_card(text, "output", card, SilentOutput, "play 48 kHz stereo")


def open_input(spec: str | None = None) -> AudioSource:
    """The microphone (an `AudioSource`); see the module docstring for the specs."""
    text = (spec or "default").strip()
    if text.lower() in SILENT_NAMES:
        return SilenceSource()
    if text.lower().startswith("wav:"):
        raise DeviceError(
            f"input {text!r}: a microphone is a device or 'silent'; a WAV is a source of its own"
        )
    from emulator.audio.portaudio import PortAudioInput

    card: Callable[..., AudioSource] = PortAudioInput
    return _open_card(text, "input", card, lambda _reason: SilenceSource(), "record 48 kHz mono")


def _open_card(text: str, kind: Kind, card: Callable[..., T], silent: Callable[[str], T], what: str) -> T:
    """A PortAudio stream on the chosen device; `default` falls back to `silent`, a named device fails."""
    device = _pick(text, kind)
    if device is None:
        return silent(f"silent (no {kind} device)")
    sd: Any = sounddevice_module()
    try:
        return card(sd, device.index, f"{device.index} {device.name}")
    except (sd.PortAudioError, ValueError) as error:
        problem = f"{kind} device {device.name!r} cannot {what}: {error}"
        if text.lower() == "default":
            log.warning("%s: using the silent backend", problem)
            return silent(f"silent ({device.name} failed)")
        raise DeviceError(problem) from None


def _pick(text: str, kind: Kind) -> DeviceInfo | None:
    if text.lower() != "default":
        return resolve_device(text, kind)
    device = _default_device(kind)
    if device is None:
        log.warning("no %s device (%s): using the silent backend", kind, portaudio_problem() or "none found")
    return device


def _open_mic(arg: str) -> AudioSource:
    """`mic[:DEVICE]` for `open_source`: the microphone, a bad device being a SourceError there."""
    try:
        return open_input(arg or "default")
    except DeviceError as error:
        raise SourceError(str(error)) from None


register_source("mic", _open_mic)
