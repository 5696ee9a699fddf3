#!/usr/bin/env bash
# report-screenshot.sh: look at report.html as a reader would.
#
#   scripts/report-screenshot.sh            # run scenarios/smoke.yaml (30 s), then shoot its report
#   scripts/report-screenshot.sh DIR        # re-render DIR's report (eixamsim report DIR), then shoot it
#
# Renders the page with headless Chromium (Debian package "chromium",
# installed here when missing and running as root) into docs/img/report.png,
# 1280 px wide and as tall as the page. Set OUT to write elsewhere, WIDTH
# for another window width.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${OUT:-docs/img/report.png}
width=${WIDTH:-1280}

if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null
	else
		echo "report-screenshot: needs chromium (apt-get install chromium)" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/eixamsim" ./cmd/eixamsim
if [ $# -ge 1 ]; then
	dir=$1
	"$work/eixamsim" report --quiet "$dir"
else
	dir=$work/smoke
	"$work/eixamsim" run --no-progress --out "$dir" scenarios/smoke.yaml >/dev/null
fi
page=$(cd "$dir" && pwd)/report.html

shoot() { # shoot HEIGHT FILE
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --hide-scrollbars \
		--user-data-dir="$work/profile" --window-size="$width,$1" --screenshot="$2" \
		"file://$page" >/dev/null 2>&1
}

# Shoot tall, then cut the empty space below the page: the last row that is
# not plain white ends the page. Without ImageMagick the tall shot stays.
mkdir -p "$(dirname "$out")"
shoot 9000 "$work/tall.png"
if command -v convert >/dev/null && convert -version 2>/dev/null | grep -q ImageMagick; then
	h=$(convert "$work/tall.png" -fuzz 1% -trim -format '%h %Y' info: | awk '{ split($2, y, "+"); print $1 + y[2] + 32 }')
	# 256 colours look the same here (flat colours, thin lines) at 40% of the size.
	convert "$work/tall.png" -crop "${width}x${h}+0+0" +repage -strip -colors 256 \
		-define png:compression-level=9 "$out"
else
	cp "$work/tall.png" "$out"
fi
echo "report-screenshot: $out (from $page)"
