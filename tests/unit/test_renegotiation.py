"""The room's renegotiation offers keep the numbers a browser chose (payload types, extension ids)."""

from __future__ import annotations

from aiortc import RTCSessionDescription

from emulator.room.renegotiation import keep_negotiated_numbers

CHROMIUM_ANSWER = "\r\n".join([
    "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8", "a=mid:0",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1",
    "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "",
])  # fmt: skip

AIORTC_OFFER = "\r\n".join([
    "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 96 9 0 8", "a=mid:0",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "a=rtpmap:96 opus/48000/2", "a=rtcp-fb:96 nack", "a=fmtp:96 useinbandfec=1",
    "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
    "m=audio 9 UDP/TLS/RTP/SAVPF 96 9 0 8", "a=mid:2",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid", "a=rtpmap:96 opus/48000/2", "",
])  # fmt: skip


def lines(description: RTCSessionDescription) -> list[str]:
    return description.sdp.split("\r\n")


def test_a_browser_session_keeps_its_payload_types_and_extension_ids() -> None:
    kept = lines(
        keep_negotiated_numbers(
            RTCSessionDescription(AIORTC_OFFER, "offer"), RTCSessionDescription(CHROMIUM_ANSWER, "answer")
        )
    )
    assert kept.count("m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8") == 2
    assert "a=rtpmap:111 opus/48000/2" in kept and "a=rtcp-fb:111 nack" in kept
    assert "a=fmtp:111 useinbandfec=1" in kept
    assert not any(":96" in line for line in kept)
    assert kept.count("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid") == 2
    assert "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level" in kept
    # An extension the session never had gets an id no other extension uses.
    (abs_send_time,) = [line for line in kept if "abs-send-time" in line]
    assert abs_send_time.split()[0] not in ("a=extmap:1", "a=extmap:4")


def test_between_aiortc_peers_nothing_changes() -> None:
    offer = RTCSessionDescription(AIORTC_OFFER, "offer")
    assert keep_negotiated_numbers(offer, RTCSessionDescription(AIORTC_OFFER, "answer")).sdp == AIORTC_OFFER
    assert keep_negotiated_numbers(offer, None) is offer
