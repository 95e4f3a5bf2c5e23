"""Writes the drive layer's sample assets from this project's own drivers (no captured data).

- emulator/assets/traces/sample_walk.jsonl: one 8 s cycle of a person walking 3 m out and back at 20 Hz,
  with a small step bob and a gentle look around, so the trace loops seamlessly.
- emulator/assets/faces/sample_livelinkface.csv: 3 s of a talking face at 60 fps in Live Link Face CSV layout,
  with a slow head sway in HeadYaw/HeadPitch/HeadRoll.

Run: .venv/bin/python scripts/make_drive_assets.py
"""

from __future__ import annotations

import math

from emulator.drive.faces import Talk
from emulator.drive.motions import Walk
from emulator.drive.spec import placement
from emulator.drive.trace import write_trace
from emulator.model.assets import asset_path
from emulator.model.face import ARKIT_NAMES
from emulator.model.pose import Pose, Quat, Vec3

TRACE_RATE = 20
CSV_RATE = 60
EYE_AND_HEAD = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip


def walk_trace() -> list[tuple[float, Pose]]:
    walk = Walk(placement("0,1.65,0"), distance=3.0, speed=1.0, turn_seconds=1.0)
    cycle = 8.0
    samples = []
    for i in range(int(cycle * TRACE_RATE) + 1):
        t = i / TRACE_RATE
        base = walk.sample(t)
        bob = 0.02 * abs(math.sin(math.pi * 1.75 * t))  # 1.75 steps a second: 14 per cycle, so it loops
        look = Quat.from_euler(math.radians(15) * math.sin(2 * math.pi * t / cycle), math.radians(-5))
        samples.append((t, Pose(base.position + Vec3(0.0, bob, 0.0), base.orientation * look)))
    return samples


def pascal(name: str) -> str:
    return name[0].upper() + name[1:]


def livelink_csv() -> str:
    talk = Talk(seed=7)
    header = ["Timecode", "BlendShapeCount", *(pascal(n) for n in ARKIT_NAMES), *EYE_AND_HEAD]
    lines = [",".join(header)]
    start_seconds = 14 * 3600 + 3 * 60 + 27  # an arbitrary time of day, as the app records
    for i in range(3 * CSV_RATE):
        t = i / CSV_RATE
        whole = start_seconds + i // CSV_RATE
        timecode = f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}:{i % CSV_RATE:02d}.000"
        weights = talk.sample(t).weights
        head = (0.12 * math.sin(2 * math.pi * t / 3), 0.05 * math.sin(2 * math.pi * t / 1.5), 0.02)
        eyes = (0.0,) * 6
        values = [f"{w:.6f}" for w in weights] + [f"{v:.6f}" for v in (*head, *eyes)]
        lines.append(",".join([timecode, str(len(ARKIT_NAMES) + len(EYE_AND_HEAD)), *values]))
    return "\n".join(lines) + "\n"


def main() -> None:
    trace = asset_path("traces", "sample_walk.jsonl")
    trace.parent.mkdir(parents=True, exist_ok=True)
    write_trace(trace, walk_trace())
    csv_path = asset_path("faces", "sample_livelinkface.csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(livelink_csv(), encoding="utf-8")
    print(f"wrote {trace} and {csv_path}")


if __name__ == "__main__":
    main()
