#!/usr/bin/env bash
# Create or reuse one Python virtualenv of the compatibility suite.
#
#   scripts/lib/venv.sh DIR REQUIREMENTS_FILE
#
# The venv is reused when DIR/.hangar-stamp equals the stamp computed now: the Python version
# plus every requirement line of REQUIREMENTS_FILE and of the constraint files it names
# (comments and blank lines ignored). Otherwise DIR is rebuilt from scratch, the pinned
# versions are checked against what got installed, and only then is the stamp written, so an
# interrupted install is never reused. Python: $HANGAR_PYTHON, default python3.
set -euo pipefail

dir=$1
req=$2
python=${HANGAR_PYTHON:-python3}
req_dir=$(cd "$(dirname "$req")" && pwd)

requirement_lines() {
    # $1: a requirements file. Prints its requirement lines, then those of its -c/-r files.
    local file=$1 line inc
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        line=$(printf '%s' "$line" | tr -d '[:space:]' | sed 's/^-c/-c /; s/^-r/-r /')
        [[ -z $line ]] && continue
        echo "$line"
        case $line in
            "-c "* | "-r "*)
                inc=${line#-? }
                requirement_lines "$req_dir/$inc"
                ;;
        esac
    done <"$file"
}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    { echo "venv.sh: $python is older than 3.10" >&2; exit 1; }
stamp="python $("$python" -c 'import sys; print(sys.version.split()[0])')
$(requirement_lines "$req")"

if [[ -x $dir/bin/python && -f $dir/.hangar-stamp ]] && [[ "$(cat "$dir/.hangar-stamp")" == "$stamp" ]] &&
    "$dir/bin/python" -c 'import pytest, requests' >/dev/null 2>&1; then
    echo "venv $(basename "$dir"): up to date, reused (${SECONDS}s)"
    exit 0
fi

echo "venv $(basename "$dir"): creating from $req"
rm -rf "$dir"
"$python" -m venv "$dir"
"$dir/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off -r "$req"

# The pins of the requirements file itself must be what is installed.
"$dir/bin/python" - "$req" <<'EOF'
import importlib.metadata as md
import re
import sys

bad = []
for raw in open(sys.argv[1]):
    line = raw.split("#", 1)[0].strip()
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
    if not m:
        continue
    name, want = m.groups()
    try:
        got = md.version(name)
    except md.PackageNotFoundError:
        got = None
    if got != want:
        bad.append(f"{name}: want {want}, got {got}")
if bad:
    sys.exit("venv check failed: " + "; ".join(bad))
print("venv check: pins installed")
EOF
printf '%s\n' "$stamp" >"$dir/.hangar-stamp"
echo "venv $(basename "$dir"): created (${SECONDS}s)"
