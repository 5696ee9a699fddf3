#!/bin/sh
# build.sh: build an eixamsim binary that knows its version.
#
#   scripts/build.sh [OUT]          # default bin/eixamsim
#
# The binary records its version, VCS revision and commit time (`eixamsim
# version`, summary.json's meta) from VERSION, REVISION and REVISION_TIME
# when they are set — a container build, whose context has no .git, gets
# them as build arguments (docs/distributed.md) — and otherwise from git:
# the revision is HEAD (with -dirty for uncommitted changes), the version
# the nearest v* tag (git describe), "(devel)" without one. With neither
# REVISION nor git it refuses: a binary whose results say "unknown
# revision" cannot be traced to its source.
set -eu
cd "$(dirname "$0")/.."
out=${1:-bin/eixamsim}

if [ -z "${REVISION:-}" ] && command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
	REVISION=$(git rev-parse HEAD)
	git diff --quiet HEAD -- 2>/dev/null || REVISION="$REVISION-dirty"
	REVISION_TIME=${REVISION_TIME:-$(git log -1 --format=%cI)}
	VERSION=${VERSION:-$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo '(devel)')}
fi
if [ -z "${REVISION:-}" ]; then
	echo "build.sh: no REVISION and no git repository: set REVISION (and VERSION), e.g." >&2
	echo "  docker build --build-arg REVISION=\$(git rev-parse HEAD) --build-arg VERSION=\$(git describe --tags --always) ..." >&2
	exit 2
fi
VERSION=${VERSION:-(devel)}
REVISION_TIME=${REVISION_TIME:-}
for v in "$VERSION" "$REVISION" "$REVISION_TIME"; do
	case $v in *[[:space:]\'\"]*)
		echo "build.sh: \"$v\": a version, revision or time has no spaces or quotes" >&2
		exit 2 ;;
	esac
done

pkg=github.com/eixamsim/eixamsim/engine
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X $pkg.stampVersion=$VERSION -X $pkg.stampRevision=$REVISION -X $pkg.stampTime=$REVISION_TIME" \
	-o "$out" ./cmd/eixamsim
echo "build.sh: $out: eixamsim $VERSION ($REVISION)"
