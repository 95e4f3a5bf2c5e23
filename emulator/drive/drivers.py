"""From the `--at/--yaw/--motion/--face` options to the pair of drivers a headset samples.

The headless `join`, the swarm and the app all start a headset from these four strings; building
the pair in one place means a Live Link Face recording with head angles turns the head in every one
of them, and a bad option is refused with the same message everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emulator.drive.faces import Combined, FaceDriver, face_from_spec
from emulator.drive.livelink import FaceTrack, HeadFromFace
from emulator.drive.motions import Motion, motion_from_spec
from emulator.drive.spec import placement, split_flags, split_spec
from emulator.drive.trace_faces import load_trace_faces
from emulator.model.face import Face
from emulator.model.pose import Pose


@dataclass(frozen=True)
class Drivers:
    """A headset's scripted pose and face; `sample(t)` gives both for `t` seconds since the start."""

    start: Pose
    motion: Motion
    face: FaceDriver

    def sample(self, t: float) -> tuple[Pose, Face]:
        return self.motion.sample(t), self.face.sample(t)


def _head_track(face: FaceDriver) -> FaceTrack | None:
    if isinstance(face, FaceTrack):
        return face if face.head is not None else None
    if isinstance(face, Combined):
        return next((track for part in face.parts if (track := _head_track(part)) is not None), None)
    return None


def build_drivers(
    motion: str = "still", face: str = "neutral", at: str | None = None, yaw_degrees: float = 0.0
) -> Drivers:
    """The drivers the options name; raises `DriveError` (or a subclass) naming what is wrong."""
    return drivers_from(motion, face, placement(at, yaw_degrees))


def _trace_face(motion: str) -> str:
    """A trace replayed with the default face brings its own faces along (as `drive` wrote them)."""
    name, rest = split_spec(motion)
    if name != "trace":
        return "neutral"
    path, flags = split_flags(rest, ("once", "absolute", "loop"))
    if not path or load_trace_faces(Path(path)) is None:
        return "neutral"
    return f"trace:{path}" + (",once" if "once" in flags else "")


def drivers_from(motion: str, face: str, start: Pose) -> Drivers:
    """The same, from a start pose already made (the swarm places its headsets itself)."""
    pose_driver = motion_from_spec(motion, start)
    face_driver = face_from_spec(_trace_face(motion) if face.strip() == "neutral" else face)
    track = _head_track(face_driver)
    if track is not None:
        pose_driver = HeadFromFace(pose_driver, track)
    return Drivers(start, pose_driver, face_driver)
