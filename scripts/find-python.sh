#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain what to install and fail.
# Rasa 3.6 refuses Python 3.11 and newer, so any newer interpreter is not an option.
set -euo pipefail
for candidate in "${FAGCHAT_PYTHON:-}" "$(command -v python3.10 || true)" \
                 $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "$candidate"; exit 0
  fi
done
cat >&2 <<'MSG'
Fagchat needs Python 3.10 (Rasa 3.6 does not run on newer versions), and none was found.
Looked for: $FAGCHAT_PYTHON, python3.10 on PATH, and ~/.pyenv/versions/3.10.*.
Install one, for example:  pyenv install 3.10.13
or point FAGCHAT_PYTHON at a Python 3.10 interpreter, then run the command again.
MSG
exit 1
