// The state stream's binary v1 format (emulator/wire/PROTOCOL.md), the part a flat participant needs:
// the header of every message, and the pose and hands of a STATE (the face is skipped over, not read).
// A browser sends a fixed pose so that the room keeps it (the room drops a participant whose data
// channels stay silent for 4 s).
"use strict";

const StateWire = (() => {
  const HEADER_BYTES = 9;
  const POSE_BYTES = 11;
  const TYPE_STATE = 0;
  const TYPE_BATCH = 5;
  const LEVEL_CENTRE = 2047;
  const LEVEL_SCALE = 2047 * Math.SQRT2;
  const HAND_BYTES = 87;
  const HAND_JOINTS = 26;
  const WRIST = 1;
  const METACARPALS = [2, 6, 11, 16, 21];
  // Bytes of each face set's full block and of its changed-weights mask (mode 11's set ids; 1 = meta70).
  const FACE_SETS = { 1: { count: 70, maskBytes: 9 } };

  function header(view) {
    if (view.byteLength < HEADER_BYTES) return null;
    const first = view.getUint8(0);
    if (first >> 6 !== 1) return null; // not v1
    return {
      type: (first >> 3) & 7,
      flags: first & 7,
      seq: view.getUint16(1),
      sender: view.getUint16(3),
      timestamp: view.getUint32(5),
    };
  }

  // "Smallest three": 2 bits naming the left-out component, three 12-bit levels, 2 reserved bits.
  function orientation(view, offset) {
    const bits = view.getUint8(offset) * 2 ** 32 + view.getUint32(offset + 1); // 40 bits fit a double
    const missing = Math.floor(bits / 2 ** 38) % 4;
    const levels = [Math.floor(bits / 2 ** 26) % 4096, Math.floor(bits / 2 ** 14) % 4096, Math.floor(bits / 4) % 4096];
    const sent = levels.map((level) => (level - LEVEL_CENTRE) / LEVEL_SCALE);
    const rest = 1 - sent.reduce((sum, c) => sum + c * c, 0);
    const q = [];
    for (let i = 0, j = 0; i < 4; i += 1) q.push(i === missing ? Math.sqrt(Math.max(0, rest)) : sent[j++]);
    return q; // x, y, z, w
  }

  function setBits(view, offset, bytes) {
    let count = 0;
    for (let i = 0; i < bytes; i += 1) for (let b = view.getUint8(offset + i); b; b >>= 1) count += b & 1;
    return count;
  }

  // Where the hands start: past the pose and the face block; null when the face cannot be skipped.
  function handsOffset(view, flags) {
    let offset = HEADER_BYTES + (flags & 1 ? POSE_BYTES : 0);
    const mode = flags >> 1;
    if (mode === 1) return offset + 52;
    if (mode === 2) return offset + 7 + (offset + 7 <= view.byteLength ? setBits(view, offset, 7) : 0);
    if (mode === 3) {
      if (offset + 2 > view.byteLength) return null;
      const set = FACE_SETS[view.getUint8(offset)];
      const kind = view.getUint8(offset + 1);
      offset += 2;
      if (set === undefined || kind > 1) return null; // a face set this page does not know
      if (kind === 0) return offset + set.count;
      if (offset + set.maskBytes > view.byteLength) return null;
      return offset + set.maskBytes + setBits(view, offset, set.maskBytes);
    }
    return offset;
  }

  // One hand block: the wrist, then each joint as i8 mm from its parent's decoded position.
  function hand(view, offset) {
    const mm = new Array(HAND_JOINTS);
    mm[WRIST] = [view.getInt16(offset), view.getInt16(offset + 2), view.getInt16(offset + 4)];
    let d = offset + 12;
    for (let j = 0; j < HAND_JOINTS; j += 1) {
      if (j === WRIST) continue;
      const parent = j === 0 || METACARPALS.includes(j) ? WRIST : j - 1;
      mm[j] = [0, 1, 2].map((axis) => mm[parent][axis] + view.getInt8(d + axis));
      d += 3;
    }
    const joints = mm.map((joint) => joint.map((c) => c / 1000));
    return { wrist: joints[WRIST], wristOrientation: orientation(view, offset + 6), joints };
  }

  // {left, right} (each {wrist, wristOrientation, joints: 26 × [x, y, z] metres} or null), or null
  // when the STATE carries none or they cannot be read (the rest of the message still counts).
  function hands(view, flags) {
    const offset = handsOffset(view, flags);
    if (offset === null || offset >= view.byteLength) return null;
    const mask = view.getUint8(offset);
    const sides = [mask & 1, mask & 2].filter(Boolean).length;
    if (mask === 0 || mask > 3 || offset + 1 + sides * HAND_BYTES !== view.byteLength) return null;
    let at = offset + 1;
    const out = { left: null, right: null };
    if (mask & 1) {
      out.left = hand(view, at);
      at += HAND_BYTES;
    }
    if (mask & 2) out.right = hand(view, at);
    return out;
  }

  // Returns {header, pose: {position: [x, y, z] metres, orientation: [x, y, z, w]} | null, hands} or
  // null (hands as `hands` above).
  function decode(buffer) {
    const view = new DataView(buffer);
    const head = header(view);
    if (head === null) return null;
    let pose = null;
    if (head.type === TYPE_STATE && head.flags & 1 && view.byteLength >= HEADER_BYTES + POSE_BYTES) {
      const o = HEADER_BYTES;
      pose = {
        position: [view.getInt16(o) / 1000, view.getInt16(o + 2) / 1000, view.getInt16(o + 4) / 1000],
        orientation: orientation(view, o + 6),
      };
    }
    return { header: head, pose, hands: head.type === TYPE_STATE ? hands(view, head.flags) : null };
  }

  // The messages in what arrived: the room packs several into one BATCH (type 5): u16 length, message,
  // repeated. Anything that does not add up is dropped whole.
  function split(buffer) {
    const view = new DataView(buffer);
    const head = header(view);
    if (head === null) return [];
    if (head.type !== TYPE_BATCH) return [buffer];
    const messages = [];
    let offset = HEADER_BYTES;
    while (offset < buffer.byteLength) {
      if (offset + 2 > buffer.byteLength) return [];
      const length = view.getUint16(offset);
      offset += 2;
      if (length < HEADER_BYTES || offset + length > buffer.byteLength) return [];
      messages.push(buffer.slice(offset, offset + length));
      offset += length;
    }
    return messages;
  }

  // Where a pose looks, on the floor: the heading of -z turned by the orientation, as (x, z).
  function heading([x, y, z, w]) {
    return [-2 * (x * z + w * y), -(1 - 2 * (x * x + y * y))];
  }

  // A STATE with a pose only: standing at `position` (metres), facing -z (the identity rotation).
  function encodeFixedPose(seq, position) {
    const buffer = new ArrayBuffer(HEADER_BYTES + POSE_BYTES);
    const view = new DataView(buffer);
    view.setUint8(0, (1 << 6) | (TYPE_STATE << 3) | 1);
    view.setUint16(1, seq & 0xffff);
    view.setUint16(3, 0);
    view.setUint32(5, Math.floor(performance.now() * 1000) % 2 ** 32);
    position.forEach((metres, i) => view.setInt16(HEADER_BYTES + 2 * i, Math.round(metres * 1000)));
    // Identity: w (index 3) left out, x = y = z = 0 at the centre level.
    const bits = 3 * 2 ** 38 + LEVEL_CENTRE * 2 ** 26 + LEVEL_CENTRE * 2 ** 14 + LEVEL_CENTRE * 4;
    view.setUint8(HEADER_BYTES + 6, Math.floor(bits / 2 ** 32));
    view.setUint32(HEADER_BYTES + 7, bits % 2 ** 32);
    return buffer;
  }

  return { decode, split, heading, encodeFixedPose };
})();
