"""What each of the 52 ARKit blendshapes does, in a few words: the Face dock's slider tooltips.

Left and right are the wearer's own (ARKit's convention), not the viewer's.
"""

from __future__ import annotations

from emulator.model.face import ARKIT_NAMES

_BOTH_SIDES: dict[str, str] = {
    "eyeBlink": "closes the {side} eyelid",
    "eyeLookDown": "turns the {side} eye down",
    "eyeLookIn": "turns the {side} eye towards the nose",
    "eyeLookOut": "turns the {side} eye away from the nose",
    "eyeLookUp": "turns the {side} eye up",
    "eyeSquint": "narrows the {side} eye, raising the lower lid",
    "eyeWide": "opens the {side} eye wide, lifting the upper lid",
    "mouthSmile": "raises the {side} corner of the mouth (smile)",
    "mouthFrown": "pulls the {side} corner of the mouth down (frown)",
    "mouthDimple": "pulls the {side} corner of the mouth back (dimple)",
    "mouthStretch": "stretches the {side} corner of the mouth sideways and down",
    "mouthPress": "presses the lips together on the {side} side",
    "mouthLowerDown": "lowers the lower lip on the {side} side",
    "mouthUpperUp": "raises the upper lip on the {side} side",
    "browDown": "lowers the {side} eyebrow",
    "browOuterUp": "raises the outer part of the {side} eyebrow",
    "cheekSquint": "raises the {side} cheek, squinting the eye",
    "noseSneer": "wrinkles the {side} side of the nose (sneer)",
}

_SINGLE: dict[str, str] = {
    "jawForward": "pushes the jaw forward",
    "jawLeft": "moves the jaw to the wearer's left",
    "jawRight": "moves the jaw to the wearer's right",
    "jawOpen": "opens the jaw (the mouth opens with it)",
    "mouthClose": "closes the lips while the jaw is open",
    "mouthFunnel": "rounds the lips into a funnel (as in 'oo')",
    "mouthPucker": "purses the lips together (as for a kiss)",
    "mouthLeft": "moves both lips to the wearer's left",
    "mouthRight": "moves both lips to the wearer's right",
    "mouthRollLower": "rolls the lower lip in over the teeth",
    "mouthRollUpper": "rolls the upper lip in over the teeth",
    "mouthShrugLower": "pushes the lower lip up and out",
    "mouthShrugUpper": "raises the upper lip with the lower one (shrug)",
    "browInnerUp": "raises the inner ends of both eyebrows (worry)",
    "cheekPuff": "puffs both cheeks out",
    "tongueOut": "sticks the tongue out",
}


def describe(name: str) -> str:
    """What the blendshape `name` does, e.g. 'eyeBlinkLeft: closes the left eyelid (0 to 1)'."""
    for side in ("Left", "Right"):
        stem = name.removesuffix(side)
        if stem != name and stem in _BOTH_SIDES:
            return f"{name}: {_BOTH_SIDES[stem].format(side=side.lower())} (0 to 1)"
    return f"{name}: {_SINGLE.get(name, 'an ARKit face blendshape')} (0 to 1)"


FACE_TIPS: dict[str, str] = {name: describe(name) for name in ARKIT_NAMES}
