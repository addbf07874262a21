#!/bin/sh
# Draws a spec's architecture diagram as a PNG: `unetc viz` writes the SVG, rsvg-convert
# rasterizes it (a white background is part of the SVG).
#
#   scripts/viz-png.sh SPEC [OUT.png] [viz options...]
#   scripts/viz-png.sh specs/unet-2015.yaml unet-2015.png --input 572x572
#   scripts/viz-png.sh specs/graph-tiny.yaml                # writes graph-tiny.png
#   ZOOM=2 scripts/viz-png.sh specs/unet.yaml               # twice the pixels, for slides
#
# Needs rsvg-convert (Debian/Ubuntu: apt-get install librsvg2-bin; macOS: brew install librsvg)
# and a built unetc (npm ci builds it). UNETC overrides the command that runs unetc.
set -eu

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
spec=$1
shift
case "${1:-}" in
  *.png) out=$1; shift ;;
  *) out=$(basename "$spec" | sed 's/\.[^.]*$//').png ;;
esac

if ! command -v rsvg-convert >/dev/null 2>&1; then
  echo "viz-png: rsvg-convert not found: apt-get install librsvg2-bin (or brew install librsvg)" >&2
  exit 1
fi

root=$(cd "$(dirname "$0")/.." && pwd)
svg=$(mktemp "${TMPDIR:-/tmp}/unetc-viz.XXXXXX")
trap 'rm -f "$svg"' EXIT
trap 'exit 130' INT TERM
if [ -n "${UNETC:-}" ]; then
  # shellcheck disable=SC2086 # UNETC may be a command with arguments
  $UNETC viz "$spec" -o - "$@" >"$svg"
else
  node "$root/bin/unetc.js" viz "$spec" -o - "$@" >"$svg"
fi
rsvg-convert --zoom "${ZOOM:-1}" --format png "$svg" -o "$out"
echo "wrote $out" >&2
