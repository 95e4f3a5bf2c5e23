"""The 15 Oculus visemes talking agents send and Ready Player Me-style avatars carry as morph targets.

The order is the Oculus Lipsync order and the wire order (`viseme id` in a VISEMES message).
Avatars name the targets `viseme_<name>` (`viseme_sil`, `viseme_PP`, …).
"""

from __future__ import annotations

from enum import IntEnum


class Viseme(IntEnum):
    sil = 0
    PP = 1
    FF = 2
    TH = 3
    DD = 4
    kk = 5
    CH = 6
    SS = 7
    nn = 8
    RR = 9
    aa = 10
    E = 11
    I = 12  # noqa: E741 - the viseme's own name
    O = 13  # noqa: E741
    U = 14

    @property
    def target_name(self) -> str:
        """The morph target name on an avatar."""
        return f"viseme_{self.name}"


VISEME_COUNT = len(Viseme)
assert VISEME_COUNT == 15
