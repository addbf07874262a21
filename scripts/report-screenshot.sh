#!/usr/bin/env bash
# A screenshot of a run's report.html in headless Chromium (Debian: apt-get install chromium).
#   scripts/report-screenshot.sh RUN_DIR [OUT.png] [HEIGHT]
# OUT.png defaults to RUN_DIR/report.png. The window is 1400 px wide and HEIGHT (default 8000)
# tall; the empty rows under the page are then cut off (with node and the project's fast-png),
# so the PNG is the whole page, however long. HEIGHT=3000 gives the top of it only.
# The flags keep Chromium off the network (the page needs none) and out of any user profile.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: $0 RUN_DIR [OUT.png] [HEIGHT]" >&2
  exit 2
fi
run_dir=$1
out=${2:-$run_dir/report.png}
height=${3:-8000}
report=$run_dir/report.html
if [ ! -f "$report" ]; then
  echo "$0: $report not found (build it first)" >&2
  exit 1
fi
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chromium" ]; then
  echo "$0: chromium not found: apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)" >&2
  exit 1
fi
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd -P)" "$(basename "$1")"); }
report_abs=$(abs "$report")
mkdir -p "$(dirname "$out")"
out_abs=$(abs "$out")
profile=$(mktemp -d "${TMPDIR:-/tmp}/unetc-chromium-XXXXXX")
trap 'rm -rf "$profile"' EXIT
rm -f "$out_abs"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$profile" \
  --window-size="1400,$height" --screenshot="$out_abs" "file://$report_abs" >"$profile/log" 2>&1 || {
  cat "$profile/log" >&2
  exit 1
}
if [ ! -s "$out_abs" ]; then
  cat "$profile/log" >&2
  echo "$0: chromium wrote no screenshot" >&2
  exit 1
fi
# Cut the rows under the page: those equal to the window's last row (the page background).
repo=$(cd "$(dirname "$0")/.." && pwd -P)
(cd "$repo" && node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  import { decode, encode } from "fast-png";
  const file = process.argv[1];
  const png = decode(readFileSync(file));
  const { width, height, channels, data } = png;
  const row = width * channels;
  const last = data.subarray((height - 1) * row, height * row);
  const same = (y) => { for (let i = 0; i < row; i++) if (data[y * row + i] !== last[i]) return false; return true; };
  let bottom = height - 1;
  while (bottom > 0 && same(bottom)) bottom--;
  const keep = Math.min(height, bottom + 1 + 24);
  if (keep < height) writeFileSync(file, encode({ width, height: keep, channels, depth: png.depth, data: data.slice(0, keep * row) }));
' "$out_abs")
echo "$out_abs"
