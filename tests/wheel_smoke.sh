#!/usr/bin/env bash
# The wheel as a user gets it: installed (not editable) into a fresh venv, outside the source tree, with
# the pinned torch. The editable install of `make test` reads src/ directly and so hides any file the
# wheel leaves out (the page's static files, py.typed, ...). Run by `make wheel-test` and `.ci/run`.
#
#   tests/wheel_smoke.sh dist/softmaxreg-*.whl
set -euo pipefail

WHEEL=$(realpath "${1:?usage: tests/wheel_smoke.sh WHEEL}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
SERVER=
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "the wheel holds the package data"
"$PYTHON" - "$WHEEL" <<'EOF'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
for needed in ("softmaxreg/py.typed", "softmaxreg/serve/static/index.html", "softmaxreg/serve/static/js/app.js"):
    assert needed in names, f"{needed} is missing from the wheel"
print(f"{len(names)} files, py.typed and the page's static files included")
EOF

step "install into a fresh venv (torch pinned by constraints.txt)"
"$PYTHON" -m venv "$WORK/venv"
BIN="$WORK/venv/bin"
"$BIN/python" -m pip install --quiet --disable-pip-version-check -c "$REPO/constraints.txt" "$WHEEL[serve,onnx]"
cd "$WORK"  # away from src/: only the installed wheel can be imported
"$BIN/python" -c "import softmaxreg, sys; print(softmaxreg.__file__)"

step "import softmaxreg does not load torch"
"$BIN/python" -c "
import sys, softmaxreg
assert 'torch' not in sys.modules, 'import softmaxreg loaded torch'
print('softmaxreg', softmaxreg.__version__, 'imported without torch')"

step "softmaxreg --help"
"$BIN/softmaxreg" --help | head -n 3

step "softmaxreg train --epochs 1"
"$BIN/softmaxreg" train --epochs 1 --out runs/smoke --offline --quiet

step "softmaxreg predict"
"$BIN/softmaxreg" predict runs/smoke "$REPO/examples/images/trouser.png"

step "softmaxreg export"
"$BIN/softmaxreg" export runs/smoke

step "softmaxreg serve answers / and a static file"
"$BIN/softmaxreg" serve runs/smoke --port 0 >serve.log 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    grep -q "^serving" serve.log && break
    kill -0 "$SERVER" 2>/dev/null || { cat serve.log; exit 1; }
    sleep 0.2
done
ADDRESS=$(grep -o 'http://[^ ]*' serve.log | head -n 1)
[ -n "$ADDRESS" ] || { cat serve.log; echo "serve did not start"; exit 1; }
for path in / /static/style.css /static/js/app.js /api/health; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$ADDRESS$path")
    echo "GET $path -> $code"
    [ "$code" = 200 ] || exit 1
done
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=

printf '\nwheel smoke test passed: %s\n' "$(basename "$WHEEL")"
