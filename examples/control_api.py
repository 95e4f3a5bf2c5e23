#!/usr/bin/env python3
"""Drive a running headless headset through its control API (`join --control`), standard library only.

Start a headset with the API on loopback and a token you choose, then run this script:

    export HEADSET_EMULATOR_CONTROL_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    headset-emulator join ws://127.0.0.1:8765/ws --name bot --control 127.0.0.1:8770 &
    python3 examples/control_api.py --url http://127.0.0.1:8770

It prints who the headset hears, walks it in front of the others, opens its jaw, puts it on an orbit,
mutes and unmutes it, and (with --leave) makes it leave. Every request sends the bearer token and a
JSON body, as the API requires (SECURITY.md, "The control API").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

TOKEN_ENV = "HEADSET_EMULATOR_CONTROL_TOKEN"


class ControlError(Exception):
    pass


class Control:
    def __init__(self, url: str, token: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def stats(self) -> dict[str, Any]:
        return self._request("GET", "/stats")

    def post(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", f"/{command}", body)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as error:
            # The API answers {"error": "..."}: 400 bad input, 401/403/415 refused, 409 not possible now.
            try:
                reason = json.load(error).get("error", error.reason)
            except (ValueError, AttributeError):
                reason = error.reason
            raise ControlError(f"{method} {path}: {error.code} {reason}") from None
        except urllib.error.URLError as error:
            raise ControlError(f"{method} {path}: cannot reach {self.url}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise ControlError(f"{method} {path}: cannot reach {self.url}: {error}") from None


def tour(control: Control, leave: bool) -> None:
    stats = control.stats()
    heard = [remote.get("id") for remote in stats.get("remotes", [])]
    print(f"{stats.get('identity', '?')} hears {len(heard)}: {', '.join(map(str, heard)) or 'nobody yet'}")
    control.post("pose", {"position": [0.0, 1.6, -1.5], "yaw": 180})
    print("moved 1.5 m ahead, facing back")
    control.post("face", {"weights": {"jawOpen": 0.6, "eyeBlinkLeft": 1.0}})
    time.sleep(1.0)
    control.post("face", {"weights": None})  # back to its --face driver
    print("opened its jaw and winked for a second")
    control.post("motion", {"spec": "orbit:radius=2,period=10"})
    print("orbiting at 2 m")
    control.post("mute", {"muted": True})
    time.sleep(1.0)
    control.post("mute", {"muted": False})
    print(f"muted for a second; muted now: {control.stats().get('muted')}")
    if leave:
        control.post("leave", {})
        print("asked it to leave")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive a headset through `join --control`.")
    parser.add_argument("--url", default="http://127.0.0.1:8770", help="control API (default %(default)s)")
    parser.add_argument("--token", help=f"bearer token (default: ${TOKEN_ENV})")
    parser.add_argument("--leave", action="store_true", help="make the headset leave at the end")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"control_api: no token: pass --token or set {TOKEN_ENV}", file=sys.stderr)
        return 2
    try:
        tour(Control(args.url, token), args.leave)
    except ControlError as error:
        print(f"control_api: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
