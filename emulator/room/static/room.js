// A browser as a flat participant of the bundled room: its microphone goes in, everyone else comes
// out through Web Audio's HRTF panner at the place their state stream says they stand, and a canvas
// shows the room from above. Signaling is the room's own (emulator/room/SIGNALING.md).
//
// `window.emulatorRoom` is the page's state, kept readable for people (devtools) and tests alike.
"use strict";

(() => {
  const params = new URLSearchParams(location.search);
  const ROOM = params.get("room") || "lobby";
  const MY_POSITION = (params.get("at") || "0,1.6,0").split(",").map(Number);
  const POSE_PERIOD_MS = 100; // a fixed pose at 10 Hz keeps the room's liveness check content
  const MAP_PERIOD_MS = 100;

  const page = {
    status: "idle",
    error: null,
    me: null,
    mode: null,
    // id → {id, number, name, profile, position, heading, hands: {left, right} wrists, speaking, statesReceived}
    participants: new Map(),
    mids: {}, // mid → participant id (the room's `tracks` message)
    voices: new Map(), // mid → {track, panner, analyser}
    drawn: {}, // id → [px, py] where the map last drew them
    statesReceived: 0,
    // The join flow (static/join.js words its failures): status is idle, joining, joined, failed or left.
    stage: null, // where a join is: microphone, token, room, connection, channel
    microphone: null, // why the page joined listening only, or null when its microphone is on
  };
  let audio = null;
  let pc = null;
  let ws = null;
  let stateChannel = null;
  let seq = 0;
  let timers = [];
  let watchdog = null;
  let microphone = null; // the MediaStream, or null when listening only

  const $ = (id) => document.getElementById(id);
  const setStatus = (text, failed = false) => {
    $("status").textContent = text;
    $("status").classList.toggle("failed", failed);
  };

  // --- roster and state stream ---------------------------------------------------------------

  function addParticipant(info) {
    page.participants.set(info.id, {
      ...info,
      position: null,
      heading: [0, -1],
      hands: { left: null, right: null },
      speaking: false,
      statesReceived: 0,
    });
    renderRoster();
  }

  function removeParticipant(id) {
    page.participants.delete(id);
    renderRoster();
  }

  function byNumber(number) {
    for (const p of page.participants.values()) if (p.number === number) return p;
    return null;
  }

  function onStateMessage(buffer) {
    const message = StateWire.decode(buffer);
    if (message === null) return;
    const sender = byNumber(message.header.sender);
    if (sender === null || (message.pose === null && message.hands === null)) return;
    if (message.pose !== null) {
      sender.position = message.pose.position;
      sender.heading = StateWire.heading(message.pose.orientation);
    }
    // Each side is kept until a STATE brings it again, as the headsets do.
    if (message.hands !== null) {
      for (const side of ["left", "right"]) if (message.hands[side]) sender.hands[side] = message.hands[side].wrist;
    }
    sender.statesReceived += 1;
    page.statesReceived += 1;
    placeVoices();
  }

  function renderRoster() {
    const list = $("roster");
    list.replaceChildren(
      ...[...page.participants.values()].map((p) => {
        const item = document.createElement("li");
        item.textContent = `${p.name} (${p.profile})`;
        return item;
      }),
    );
  }

  // --- voices ----------------------------------------------------------------------------------

  function attachVoice(mid, track) {
    const stream = new MediaStream([track]);
    // Chromium feeds Web Audio from a remote WebRTC stream only while a media element plays it.
    const sink = new Audio();
    sink.muted = true;
    sink.srcObject = stream;
    sink.play().catch(() => {});
    const source = audio.createMediaStreamSource(stream);
    const panner = new PannerNode(audio, {
      panningModel: "HRTF",
      distanceModel: "inverse",
      refDistance: 1,
      maxDistance: 100,
      rolloffFactor: 1,
    });
    const analyser = new AnalyserNode(audio, { fftSize: 8192, smoothingTimeConstant: 0.5 });
    source.connect(panner).connect(audio.destination);
    source.connect(analyser);
    page.voices.set(mid, { track, sink, source, panner, analyser });
    placeVoices();
  }

  function placeVoices() {
    for (const [mid, voice] of page.voices) {
      const owner = page.participants.get(page.mids[mid]);
      if (!owner || owner.position === null) continue;
      const [x, y, z] = owner.position;
      voice.panner.positionX.value = x;
      voice.panner.positionY.value = y;
      voice.panner.positionZ.value = z;
    }
  }

  function voiceOf(id) {
    for (const [mid, voice] of page.voices) if (page.mids[mid] === id) return voice;
    return null;
  }

  // The strongest frequency (Hz) in what arrives from `id`, above 50 Hz; null if no voice yet.
  function dominantFrequency(id) {
    const voice = voiceOf(id);
    if (voice === null) return null;
    const bins = new Float32Array(voice.analyser.frequencyBinCount);
    voice.analyser.getFloatFrequencyData(bins);
    const hzPerBin = audio.sampleRate / voice.analyser.fftSize;
    let best = -1;
    for (let i = Math.ceil(50 / hzPerBin); i < bins.length; i += 1) if (best < 0 || bins[i] > bins[best]) best = i;
    return best < 0 ? null : { hz: best * hzPerBin, db: bins[best] };
  }

  // --- signaling -------------------------------------------------------------------------------

  function gatheringComplete(connection) {
    // The room does not trickle: the offer must carry every candidate.
    if (connection.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      connection.addEventListener("icegatheringstatechange", () => {
        if (connection.iceGatheringState === "complete") resolve();
      });
    });
  }

  async function fetchToken(name) {
    const given = params.get("token");
    if (given) return given;
    const reply = await fetch(`/token?room=${encodeURIComponent(ROOM)}&name=${encodeURIComponent(name)}`).catch(() => {
      throw new Error(JoinErrors.unreachable(location.origin));
    });
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) throw new Error(body.error || `the room refused a token (HTTP ${reply.status})`);
    return body.token;
  }

  let queue = Promise.resolve();
  function onSignal(text) {
    // Handled one at a time, in order: an offer must be answered before the next tracks message.
    queue = queue.then(() => handleSignal(JSON.parse(text))).catch(fail);
  }

  async function handleSignal(message) {
    switch (message.type) {
      case "welcome":
        page.me = message.you;
        page.mode = message.mode;
        message.participants.forEach(addParticipant);
        await startMedia();
        break;
      case "answer":
        await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        break;
      case "offer":
        await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        ws.send(JSON.stringify({ type: "answer", sdp: pc.localDescription.sdp }));
        break;
      case "tracks":
        page.mids = message.mids;
        placeVoices();
        break;
      case "joined":
        addParticipant(message.participant);
        break;
      case "left":
        removeParticipant(message.id);
        break;
      case "error":
        throw new Error(JoinErrors.refused(message.code, message.reason));
      default:
        break;
    }
  }

  async function openMicrophone() {
    try {
      if (!navigator.mediaDevices) throw Object.assign(new Error("no mediaDevices"), { name: "NoMediaDevices" });
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      page.microphone = JoinErrors.microphone(error);
      return null;
    }
  }

  async function startMedia() {
    page.stage = "connection";
    pc = new RTCPeerConnection({ iceServers: [] }); // no STUN/TURN: nothing to ask outside
    if (microphone !== null) {
      pc.addTransceiver(microphone.getAudioTracks()[0], { direction: "sendonly", streams: [microphone] });
    }
    stateChannel = pc.createDataChannel("state", { ordered: false, maxRetransmits: 0 });
    stateChannel.binaryType = "arraybuffer";
    stateChannel.onmessage = (event) => StateWire.split(event.data).forEach(onStateMessage);
    stateChannel.onopen = () => {
      if (page.status !== "joining") return;
      clearTimeout(watchdog);
      page.status = "joined";
      page.stage = null;
      const listening = page.microphone ? `, listening only: ${page.microphone}` : "";
      setStatus(`Joined ${ROOM} as ${page.me.name}${listening}.`);
      timers.push(setInterval(sendPose, POSE_PERIOD_MS));
    };
    const control = pc.createDataChannel("control");
    control.binaryType = "arraybuffer";
    pc.ontrack = (event) => attachVoice(event.transceiver.mid, event.track);
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === "failed") fail(new Error(JoinErrors.iceFailed()));
      if (pc.iceConnectionState === "connected") page.stage = "channel";
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") fail(new Error("the connection to the room failed"));
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    // Every candidate goes: the room picks what it accepts (loopback, or this machine's own
    // addresses when it serves browsers); mDNS `.local` names it ignores (emulator/net/transport/ice.py).
    ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }));
  }

  function sendPose() {
    if (stateChannel && stateChannel.readyState === "open") {
      seq = (seq + 1) & 0xffff;
      stateChannel.send(StateWire.encodeFixedPose(seq, MY_POSITION));
    }
  }

  async function join(name) {
    page.status = "joining";
    page.stage = "microphone";
    page.error = null;
    page.microphone = null;
    setStatus("Asking for the microphone…");
    // Created inside the click: browsers only let a page start audio after a gesture.
    audio = new AudioContext();
    await audio.resume();
    audio.listener.positionX.value = MY_POSITION[0];
    audio.listener.positionY.value = MY_POSITION[1];
    audio.listener.positionZ.value = MY_POSITION[2];
    audio.listener.forwardZ.value = -1;
    // First, and outside the deadline: a person may take a while to answer the browser's prompt.
    microphone = await openMicrophone();
    if (page.status !== "joining") {
      hangUp(); // left (or failed) while the browser asked
      return;
    }
    setStatus("Joining…");
    page.stage = "token";
    watchdog = setTimeout(() => {
      if (page.status === "joining") fail(new Error(JoinErrors.timedOut(page.stage, pc && pc.iceConnectionState)));
    }, JoinErrors.JOIN_TIMEOUT_MS);
    const token = await fetchToken(name);
    page.stage = "room";
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    ws = new WebSocket(url);
    ws.onmessage = (event) => onSignal(event.data);
    ws.onclose = () => {
      if (page.status === "joining" || page.status === "joined") fail(new Error("the room closed the connection"));
    };
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(JoinErrors.unreachable(url)));
    });
    const me = { type: "join", room: ROOM, token, name, profile: "browser", avatar: "default", face_set: "arkit52" };
    ws.send(JSON.stringify(me));
    timers.push(setInterval(drawMap, MAP_PERIOD_MS));
  }

  function drawMap() {
    if (page.me === null) return;
    page.drawn = RoomMap.draw($("map"), { name: page.me.name, position: MY_POSITION }, page.participants.values());
  }

  function hangUp() {
    clearTimeout(watchdog);
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "leave" }));
    timers.forEach(clearInterval);
    timers = [];
    if (pc) pc.close();
    if (ws) ws.close();
    if (audio) audio.close();
    if (microphone) microphone.getTracks().forEach((track) => track.stop());
    pc = ws = audio = stateChannel = microphone = null;
    page.me = null;
    page.participants.clear();
    page.voices.clear();
    page.drawn = {};
    renderRoster();
    const map = $("map");
    map.getContext("2d").clearRect(0, 0, map.width, map.height); // as before joining: nobody to show
    $("leave").hidden = true;
    $("join").disabled = false;
  }

  function leave() {
    page.status = "left";
    hangUp();
    setStatus("Left.");
  }

  // The first failure wins (a refused token is followed by the WebSocket closing); the page hangs up
  // so that Join can be pressed again.
  function fail(error) {
    if (page.status !== "joining" && page.status !== "joined") return;
    const joined = page.status === "joined";
    page.error = String(error.message || error);
    page.status = "failed";
    hangUp();
    setStatus(`${joined ? "Lost the room" : "Could not join"}: ${page.error}`, true);
  }

  $("room-name").textContent = `· ${ROOM}`;
  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("join").disabled = true;
    $("leave").hidden = false;
    join($("name").value.trim() || "browser").catch(fail);
  });
  $("leave").addEventListener("click", leave);

  window.emulatorRoom = {
    page,
    dominantFrequency,
    participants: () =>
      [...page.participants.values()].map((p) => ({ ...p, drawnAt: page.drawn[p.id] || null })),
  };
})();
