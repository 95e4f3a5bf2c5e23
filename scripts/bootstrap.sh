#!/usr/bin/env bash
# Makes a fresh Debian machine ready to run and test headset-emulator: installs the Debian packages
# listed in scripts/debian-packages.txt (as root; otherwise prints the one line to run), creates .venv
# and installs the project with its app and test extras. Cheap to call again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -vE '^\s*(#|$)' scripts/debian-packages.txt | tr '\n' ' ')
missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "bootstrap: installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "bootstrap: missing Debian packages; run:"
    echo "  sudo apt-get install -y$missing"
    exit 1
  fi
fi

# The interpreter: Debian's own CPython when it is 3.11 or newer. Debian builds it with profile-guided
# and link-time optimization and links it statically; a default pyenv or source build is neither, and
# on it a room with a swarm of 12 took 6-23% more CPU (two of them run at once, one on each, 6 rounds).
# PYTHON=/path/to/python3 chooses another.
if [ -n "${PYTHON:-}" ]; then
  python=$PYTHON
elif [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  python=/usr/bin/python3
else
  python=python3
fi
real_executable='import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))'
if [ -x .venv/bin/python ] && [ "$(.venv/bin/python -c "$real_executable")" != "$("$python" -c "$real_executable")" ]; then
  echo "bootstrap: .venv was made with another Python; making it again with $python"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $python"
  "$python" -m venv .venv
fi
stamp=.venv/.setup-stamp
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing the project with its app and test extras into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[app,test]"
  echo "$want" > "$stamp"
fi
