"""The E-model (ITU-T G.107) reduced to what a receiver measures: mouth-to-ear delay and packet loss.

R = 93.2 − Id − Ie,eff: 93.2 is G.107's default R0 − Is with no echo or noise terms. Id is the
delay impairment in the Cole–Rosenbluth approximation of G.107's curve (Id = 0.024·d + 0.11·(d −
177.3) past 177.3 ms of one-way delay d). Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl) with
the loss Ppl in percent. G.113 lists no narrowband Ie/Bpl for Opus, so the figures of G.711 with
packet-loss concealment stand in (Ie 0, Bpl 25.1): a conservative curve for Opus with FEC, whose
in-band redundancy repairs some of what is counted lost here. BurstR is 1 unless the caller knows
the loss came in runs (the mean run over the mean run of random loss at that rate). The result is
MOS-CQE, an estimate of conversational quality, not a measurement of the audio: it cannot tell a
garbled stream from a clean one with the same counters; the full-reference scores can.
"""

from __future__ import annotations

from dataclasses import dataclass

R_DEFAULT = 93.2  # G.107's R0 − Is with its default parameters
IE_CODEC = 0.0  # equipment impairment of the codec itself (stand-in: G.711 with PLC, G.113)
BPL_CODEC = 25.1  # its packet-loss robustness (the same stand-in)


@dataclass(frozen=True)
class EModel:
    r_factor: float
    mos: float  # MOS-CQE, 1–4.5
    delay_ms: float
    loss_percent: float

    def as_dict(self) -> dict[str, float]:
        return {
            "r_factor": round(self.r_factor, 1),
            "mos": round(self.mos, 2),
            "delay_ms": round(self.delay_ms, 1),
            "loss_percent": round(self.loss_percent, 2),
        }


def delay_impairment(delay_ms: float) -> float:
    d = max(0.0, delay_ms)
    return 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)


def loss_impairment(loss_percent: float, burst_ratio: float = 1.0) -> float:
    ppl = min(100.0, max(0.0, loss_percent))
    return IE_CODEC + (95.0 - IE_CODEC) * ppl / (ppl / max(1.0, burst_ratio) + BPL_CODEC)


def mos_from_r(r: float) -> float:
    """G.107 Annex B: R to MOS-CQE."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6


def emodel(delay_ms: float, loss_fraction: float, burst_ratio: float = 1.0) -> EModel:
    """The score of a path with this one-way mouth-to-ear delay and fraction of packets lost."""
    r = R_DEFAULT - delay_impairment(delay_ms) - loss_impairment(100 * loss_fraction, burst_ratio)
    return EModel(r, mos_from_r(r), delay_ms, 100 * loss_fraction)
