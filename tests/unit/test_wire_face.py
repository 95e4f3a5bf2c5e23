"""Face updates over a lossy, unordered channel: the sender's encoder and the receiver's accumulator."""

import random

import numpy as np
import pytest

from emulator.model.face import Face
from emulator.model.meta_face import MetaFace
from emulator.wire import FaceAccumulator, FaceEncoder, FaceSet, FaceUpdate, State


def test_encoder_sends_full_then_only_changes_then_nothing() -> None:
    encoder = FaceEncoder(FaceSet.ARKIT52, full_every=100)
    face = Face()
    first = encoder.update(face)
    assert first is not None and first.full
    face["jawOpen"] = 0.5
    face["eyeBlinkLeft"] = 1.0
    second = encoder.update(face)
    assert second is not None and not second.full
    assert second.weights() == {0: 1.0, 17: 128 / 255}
    assert len(second.encode_block()) == 7 + 2
    assert encoder.update(face) is None
    face["jawOpen"] = 0.5 + 0.5 / 255 * 0.9  # within the same level: nothing worth sending
    assert encoder.update(face) is None


def test_encoder_repeats_the_full_face_periodically_and_on_demand() -> None:
    encoder = FaceEncoder(FaceSet.ARKIT52, full_every=5)
    kinds = [getattr(encoder.update(Face()), "full", None) for _ in range(11)]
    assert kinds == [True, None, None, None, None, True, None, None, None, None, True]
    encoder.force_full()
    update = encoder.update(Face())
    assert update is not None and update.full


def test_encoder_prefers_a_full_face_when_nearly_everything_changed() -> None:
    encoder = FaceEncoder(FaceSet.ARKIT52, full_every=100)
    encoder.update(Face())
    update = encoder.update(Face(np.full(52, 0.5)))
    assert update is not None and update.full  # 7-byte mask + 52 levels would cost more than 52 levels


def test_accumulator_merges_changes_onto_the_last_full_face() -> None:
    acc = FaceAccumulator()
    assert not acc.complete and acc.arkit() == Face()
    acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.4}), seq=1)
    assert not acc.complete
    assert acc.apply(FaceUpdate.of_weights(FaceSet.ARKIT52, np.full(52, 0.2)), seq=2)
    assert acc.complete
    assert acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 1.0}), seq=3)
    face = acc.arkit()
    assert face["jawOpen"] == 1.0 and face["eyeBlinkLeft"] == pytest.approx(51 / 255)
    assert not acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 1.0}), seq=4)


def test_a_late_packet_never_undoes_a_newer_one() -> None:
    acc = FaceAccumulator()
    acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.9}), seq=10)
    acc.apply(FaceUpdate.of_weights(FaceSet.ARKIT52, np.zeros(52)), seq=9)  # arrives late
    assert acc.arkit()["jawOpen"] == pytest.approx(0.9, abs=1 / 255)
    assert acc.arkit()["eyeBlinkLeft"] == 0.0  # what the old full face said about the rest still counts
    # Sequence numbers wrap: 2 comes after 65534.
    acc = FaceAccumulator()
    acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.1}), seq=65534)
    acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.3}), seq=2)
    acc.apply(FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.7}), seq=65535)
    assert acc.arkit()["jawOpen"] == pytest.approx(0.3, abs=1 / 255)


def test_switching_face_set_starts_afresh_and_meta_faces_map_to_arkit() -> None:
    acc = FaceAccumulator()
    acc.apply(FaceUpdate.of_weights(FaceSet.ARKIT52, np.ones(52)), seq=1)
    meta = MetaFace()
    meta["JAW_DROP"] = 0.6
    meta["EYES_CLOSED_R"] = 1.0
    acc.apply(FaceUpdate.of_weights(FaceSet.META70, meta.weights), seq=2)
    assert acc.face_set is FaceSet.META70 and acc.complete
    face = acc.arkit()
    assert face["jawOpen"] == pytest.approx(0.6, abs=1 / 255)
    assert face["eyeBlinkRight"] == 1.0 and face["eyeBlinkLeft"] == 0.0
    got = acc.meta()
    assert got is not None and got["JAW_DROP"] == pytest.approx(0.6, abs=1 / 255)


@pytest.mark.parametrize("face_set", list(FaceSet))
def test_receiver_recovers_on_a_lossy_reordering_channel(face_set: FaceSet) -> None:
    """A talking face over a channel that drops 30% and reorders: right again after the next full."""
    rng = random.Random(4)
    encoder = FaceEncoder(face_set, full_every=20)
    acc = FaceAccumulator()
    weights = np.zeros(face_set.count)
    in_flight: list[bytes] = []
    sent_bytes = 0
    for seq in range(400):
        moving = rng.sample(range(face_set.count), 4)
        weights[moving] = [rng.random() for _ in moving]
        update = encoder.update(weights)
        data = bytes(State(seq=seq, face=update))
        sent_bytes += len(data)
        if rng.random() > 0.3:
            in_flight.insert(rng.randrange(len(in_flight) + 1), data)  # reorders a little
        while len(in_flight) > 3:
            received = State.parse(in_flight.pop())
            if received.face is not None:
                acc.apply(received.face, received.seq)
    # Flush the channel, then one full update as the encoder sends it periodically.
    for data in in_flight:
        received = State.parse(data)
        if received.face is not None:
            acc.apply(received.face, received.seq)
    encoder.force_full()
    final = encoder.update(weights)
    assert final is not None
    acc.apply(State.parse(bytes(State(seq=400, face=final))).face, 400)  # type: ignore[arg-type]
    assert acc.complete
    assert np.abs(acc.weights() - weights).max() <= 1 / 255
    # Changed-only updates make the stream far cheaper than sending every weight every time.
    assert sent_bytes < 400 * (9 + face_set.count) * 0.5
