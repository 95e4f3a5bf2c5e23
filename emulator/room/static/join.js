// What the page says when a join fails: what went wrong, in words, and what to do about it.
// Kept apart from room.js so the messages can be read (and changed) in one place.
"use strict";

const JoinErrors = (() => {
  const JOIN_TIMEOUT_MS = 10000; // a join on one machine takes well under a second; ICE gives up after ~30 s
  const BROWSERS_HINT =
    "A browser never offers a loopback address, so the room must be started with " +
    "`headset-emulator room --browsers` (see docs/browser.md).";

  // `stage` is where the join was when it stopped: token, room, connection, channel (the
  // microphone's prompt comes before the deadline starts).
  function timedOut(stage, iceState) {
    if (stage === "connection" || stage === "channel") {
      return (
        `No network path to the room: ICE did not connect within ${JOIN_TIMEOUT_MS / 1000} s ` +
        `(ICE state ${iceState || "new"}). ${BROWSERS_HINT}`
      );
    }
    if (stage === "room") return "The room did not answer the join. Is `headset-emulator room` still running?";
    return "The room did not hand out a token. Is `headset-emulator room` still running?";
  }

  function iceFailed() {
    return `No network path to the room: ICE failed. ${BROWSERS_HINT}`;
  }

  function refused(code, reason) {
    if (code.startsWith("token-")) {
      return (
        `The room refused the token (${code}: ${reason}). Open the page without ?token= on a room on ` +
        "loopback, or with a fresh one from `headset-emulator token`."
      );
    }
    return `The room refused the join (${code}: ${reason}).`;
  }

  function unreachable(url) {
    return `Cannot reach the room at ${url}. Is \`headset-emulator room\` still running?`;
  }

  // Why there is no microphone, or null when there is one; the page then joins listening only.
  function microphone(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "the microphone was refused; allow it for this page (the icon in the address bar) and join again to be heard";
    }
    if (name === "NotFoundError") return "there is no microphone";
    if (name === "NotReadableError") return "the microphone is busy in another program";
    if (name === "NoMediaDevices") return "browsers give a microphone only to https:// and localhost pages";
    return `the microphone could not be opened (${String(error && error.message ? error.message : error)})`;
  }

  return { JOIN_TIMEOUT_MS, timedOut, iceFailed, refused, unreachable, microphone };
})();
