"""From a placement and the motion and face specs to the pair of drivers a headset samples.

The headless `join`, the swarm and the app all start a headset from these four values; building
the pair in one place means a Live Link Face recording with head angles turns the head in every one
of them, and a bad option is refused with the same message everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.drive.faces import Combined, FaceDriver, FaceSpec
from emulator.drive.livelink import FaceTrack, HeadFromFace
from emulator.drive.motions import Motion, MotionSpec
from emulator.drive.spec import placement
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
    """The drivers the spec strings name; raises `DriveError` (or a subclass) naming what is wrong."""
    return drivers_from(MotionSpec.parse(motion), FaceSpec.parse(face), placement(at, yaw_degrees))


def _trace_face(motion: MotionSpec) -> FaceSpec | None:
    """A trace replayed with the default face brings its own faces along (as `drive` wrote them)."""
    if motion.name != "trace" or motion.path is None or load_trace_faces(motion.path) is None:
        return None
    return FaceSpec.parse(f"trace:{motion.path}" + (",once" if "once" in motion.flags else ""))


def drivers_from(motion: MotionSpec, face: FaceSpec, start: Pose) -> Drivers:
    """The drivers of parsed specs, from a start pose already made (the swarm places its headsets
    itself); files the specs name are read here."""
    pose_driver = motion.build(start)
    face_driver = ((_trace_face(motion) if face.neutral else None) or face).build()
    track = _head_track(face_driver)
    if track is not None:
        pose_driver = HeadFromFace(pose_driver, track)
    return Drivers(start, pose_driver, face_driver)
