"""Marker detection costs only a headset that listens for markers, and it pays before joining.

Importing scipy.signal took 3-4 s on a loaded machine; done at a swarm member's first remote voice, on
the loop every member of that worker shares, it silenced them all long enough for the room to drop
them as transport-lost. Each case runs in a fresh interpreter, where nothing has imported it yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from emulator.audio.factory import NO_AUDIO
    from emulator.headset import Headset, HeadsetConfig
    from emulator.headset.voice import RemoteVoice
    from emulator.net.media.playout import PlayoutBuffer

    config = HeadsetConfig(url="ws://127.0.0.1:9/ws", room="lobby", name="me", audio=NO_AUDIO,
                           light_receive=True, detect_markers=sys.argv[1] == "detects")
    voice = Headset(config).voice
    at_construction = "scipy.signal" in sys.modules
    remote = voice.remotes["0"] = RemoteVoice("0", PlayoutBuffer())
    voice._set_owner(remote, "alice")  # what a Tracks message naming the voice's owner does
    for _ in range(20):
        voice.pull_all(time.monotonic())
    print(json.dumps({"at_construction": at_construction, "after_voice": "scipy.signal" in sys.modules,
                      "detector": remote.detector is not None}))
    """
)


def run(kind: str) -> dict[str, bool]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, kind], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, bool] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_a_swarm_member_that_listens_for_no_markers_never_imports_the_detector() -> None:
    assert run("deaf") == {"at_construction": False, "after_voice": False, "detector": False}


def test_a_member_that_listens_for_markers_imports_the_detector_before_any_voice_arrives() -> None:
    assert run("detects") == {"at_construction": True, "after_voice": True, "detector": True}
