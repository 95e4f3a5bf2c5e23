"""The two data channels every participant opens to the room, and what each may hold unsent.

`state` is unordered with no retransmissions (a late pose is worth nothing, the next one replaces it);
`control` is reliable and ordered (rare messages that must arrive). Both ends, the headset's session
and the room, use these names and limits.
"""

from __future__ import annotations

STATE_CHANNEL = "state"
CONTROL_CHANNEL = "control"
# A lossy channel that cannot keep up drops instead of queueing: a late pose is worth nothing.
MAX_LOSSY_BUFFERED_BYTES = 64 * 1024
# The reliable channel queues what it cannot send yet; past this, a receiver that cannot keep up (or a
# flood the budgets let through) is dropped for that receiver and counted, not queued without bound.
MAX_RELIABLE_BUFFERED_BYTES = 256 * 1024
