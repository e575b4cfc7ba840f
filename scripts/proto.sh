#!/usr/bin/env bash
# Regenerates the Go code in internal/pb from internal/pb/proto/*.proto, and in
# internal/state/bkpb from internal/state/bkpb/proto/bookkeeper/*.proto.
#
#   scripts/proto.sh           regenerate internal/pb/*.pb.go and internal/state/bkpb/*.pb.go
#                              (what `make proto` runs)
#   scripts/proto.sh --check   regenerate into a scratch dir and fail if the
#                              committed files differ
#
# Pinned inputs:
#   protoc             com.google.protobuf:protoc:$PROTOC_VERSION:exe:linux-x86_64 from
#                      Maven Central (via mvn), sha256-verified, cached under
#                      ${PFW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker}/protoc
#   well-known types   google/protobuf/empty.proto, taken from
#                      com.google.protobuf:protobuf-java:$PROTOC_VERSION (same release as
#                      protoc), sha256-verified, same cache
#   protoc-gen-go      Go tool pinned in go.mod (google.golang.org/protobuf)
#   protoc-gen-go-grpc Go tool pinned in go.mod (google.golang.org/grpc/cmd/protoc-gen-go-grpc)
#
# PROTOC=/path/to/protoc may name another protoc binary (e.g. on a machine that
# is not linux-x86_64); it must report the pinned version.
set -euo pipefail

PROTOC_VERSION=4.34.0            # Maven version; the binary reports "libprotoc 34.0"
PROTOC_REPORTED="libprotoc 34.0"
PROTOC_SHA256=dc98cd430f89c2f17d7311c8de6637fa96369dff13ab54ab77b41f514676d8dc
PROTOBUF_JAVA_SHA256=c834d8c9b251f401c3c776b4ac51874e5195e9f2b317a26d6e49f4096de70965
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Each generated package: its directory under $ROOT, then its .proto files
# relative to <dir>/proto (the files' registered paths).
PACKAGES=(
  "internal/pb Function.proto InstanceCommunication.proto Request.proto"
  "internal/state/bkpb bookkeeper/stream.proto bookkeeper/storage.proto bookkeeper/kv.proto bookkeeper/kv_rpc.proto"
)
CACHE_DIR="${PFW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker}/protoc/$PROTOC_VERSION"

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

die() { echo "proto.sh: $*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch_artifact COORDS FILE SHA256: make sure $CACHE_DIR/FILE exists with the
# given sha256, downloading COORDS with Maven when it does not.
fetch_artifact() {
  local coords=$1 file=$2 want=$3 dest="$CACHE_DIR/$2"
  if [[ -f $dest && $(sha256_of "$dest") == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn is needed to fetch $coords"
  mkdir -p "$CACHE_DIR"
  local tmp
  tmp=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
  echo "proto.sh: fetching $coords" >&2
  # Run from the scratch dir so that no pom.xml around the caller is picked up.
  if ! (cd "$tmp" && mvn -B -q "$DEPENDENCY_PLUGIN:copy" -Dartifact="$coords" -DoutputDirectory="$tmp") >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "mvn could not fetch $coords"
  fi
  rm -f "$tmp.log"
  [[ -f $tmp/$file ]] || { ls -la "$tmp" >&2; rm -rf "$tmp"; die "mvn did not produce $file"; }
  local got
  got=$(sha256_of "$tmp/$file")
  if [[ $got != "$want" ]]; then
    rm -rf "$tmp"
    die "sha256 mismatch for $file: got $got, want $want"
  fi
  mv -f "$tmp/$file" "$dest"
  rm -rf "$tmp"
}

# protoc
if [[ -n ${PROTOC:-} ]]; then
  protoc=$PROTOC
else
  [[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] ||
    die "only linux-x86_64 protoc is pinned; set PROTOC to a protoc reporting '$PROTOC_REPORTED'"
  fetch_artifact "com.google.protobuf:protoc:$PROTOC_VERSION:exe:linux-x86_64" \
    "protoc-$PROTOC_VERSION-linux-x86_64.exe" "$PROTOC_SHA256"
  protoc="$CACHE_DIR/protoc-$PROTOC_VERSION-linux-x86_64.exe"
  [[ -x $protoc ]] || chmod +x "$protoc"
fi
[[ $("$protoc" --version) == "$PROTOC_REPORTED" ]] ||
  die "$protoc reports '$("$protoc" --version)', want '$PROTOC_REPORTED'"

# Well-known type sources (protoc from Maven ships without its include dir).
include="$CACHE_DIR/include"
if [[ ! -f $include/google/protobuf/empty.proto ]]; then
  fetch_artifact "com.google.protobuf:protobuf-java:$PROTOC_VERSION:jar" \
    "protobuf-java-$PROTOC_VERSION.jar" "$PROTOBUF_JAVA_SHA256"
  tmp=$(mktemp -d "$CACHE_DIR/.include.XXXXXX")
  jar="$CACHE_DIR/protobuf-java-$PROTOC_VERSION.jar"
  if command -v unzip >/dev/null; then
    unzip -q -o "$jar" 'google/protobuf/*.proto' -d "$tmp"
  else
    python3 - "$jar" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("google/protobuf/") and n.endswith(".proto"):
            z.extract(n, sys.argv[2])
PY
  fi
  chmod 755 "$tmp"
  rm -rf "$include"
  mv "$tmp" "$include"
fi

# Plugins, built from the versions pinned in go.mod.
cd "$ROOT"
gen_go=$(go tool -n protoc-gen-go)
gen_go_grpc=$(go tool -n protoc-gen-go-grpc)
[[ -x $gen_go && -x $gen_go_grpc ]] || die "could not build protoc-gen-go / protoc-gen-go-grpc with go tool"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for pkg in "${PACKAGES[@]}"; do
  read -r -a words <<<"$pkg"
  rel=${words[0]}
  files=("${words[@]:1}")
  PB_DIR="$ROOT/$rel"
  gen="$out/$rel"
  mkdir -p "$gen"
  (
    cd "$PB_DIR/proto"
    "$protoc" -I . -I "$include" \
      --plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_go_grpc" \
      --go_out="$gen" --go_opt=paths=source_relative \
      --go-grpc_out="$gen" --go-grpc_opt=paths=source_relative \
      "${files[@]}"
  )
  # Files in a proto subdirectory (bookkeeper/x.proto) land in the package
  # directory itself.
  find "$gen" -mindepth 2 -name '*.go' -exec mv -t "$gen" {} +

  if $check; then
    for f in "$gen"/*.go; do
      cmp -s "$f" "$PB_DIR/$(basename "$f")" || { echo "proto.sh: $rel/$(basename "$f") is out of date" >&2; status=1; }
    done
    for f in "$PB_DIR"/*.pb.go; do
      [[ -e $f ]] || continue
      [[ -e $gen/$(basename "$f") ]] || { echo "proto.sh: $rel/$(basename "$f") is stale" >&2; status=1; }
    done
    continue
  fi

  rm -f "$PB_DIR"/*.pb.go
  cp "$gen"/*.go "$PB_DIR"/
  generated=()
  for f in "$gen"/*.go; do generated+=("$(basename "$f")"); done
  echo "proto.sh: regenerated $rel: ${generated[*]}"
done
if $check; then
  [[ $status == 0 ]] && echo "proto.sh: generated code is up to date"
  exit $status
fi
