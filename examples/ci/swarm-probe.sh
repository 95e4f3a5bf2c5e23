#!/usr/bin/env bash
# A room on loopback, one probe run against it, then a swarm of headsets for a while; fails (exit 1)
# when the probe breaks a threshold or a headset cannot join. Everything stays on 127.0.0.1.
# Needs headset-emulator on PATH (pip install . or make setup and .venv/bin on PATH).
set -euo pipefail

PORT=${PORT:-8765}
METRICS_PORT=${METRICS_PORT:-9109}  # the room's Prometheus endpoint (examples/prometheus)
COUNT=${COUNT:-4}
IN_ROOM=${IN_ROOM:-20s}  # how long the swarm stays
OUT=${OUT:-swarm-probe-out}
# Loose limits: a shared CI runner is slower than a quiet desktop; tighten them for your own room.
MAX_MOUTH_TO_EAR=${MAX_MOUTH_TO_EAR:-1s}
MAX_RTT=${MAX_RTT:-500ms}
# The room and the clients share a token secret; a CI run makes a fresh one.
export HEADSET_EMULATOR_SECRET=${HEADSET_EMULATOR_SECRET:-$(python3 -c 'import secrets; print(secrets.token_hex(16))')}
URL="ws://127.0.0.1:${PORT}/ws"
mkdir -p "$OUT"

headset-emulator room --host 127.0.0.1 --port "$PORT" --metrics "127.0.0.1:$METRICS_PORT" 2>"$OUT/room.log" &
room_pid=$!
trap 'kill "$room_pid" 2>/dev/null; wait "$room_pid" 2>/dev/null || true' EXIT

for _ in $(seq 50); do  # up to 10 s for the room to listen
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.2
done

headset-emulator probe "$URL" --once --timeout 30s --max-join 10s --max-mouth-to-ear "$MAX_MOUTH_TO_EAR" --max-rtt "$MAX_RTT" | tee "$OUT/probe.txt"

headset-emulator swarm "$URL" -n "$COUNT" --room ci --duration "$IN_ROOM" --report "$OUT/swarm.json"

# swarm exits 1 when a headset could not join; also ask that every pair heard most of the states.
python3 - "$OUT/swarm.json" "$COUNT" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
delivery = report["state_delivery"]["min_ratio"]
print(f"swarm: {report['headsets']} headsets, worst state delivery {delivery}")
sys.exit(0 if report["headsets"] == int(sys.argv[2]) and delivery is not None and delivery > 0.9 else 1)
PY
