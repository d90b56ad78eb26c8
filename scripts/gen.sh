#!/bin/sh
# Regenerates everything under gen/ from proto/ (offline):
#   gen/wolk/**.ts   TypeScript messages and grpc-js services (ts-proto, see buf.gen.yaml)
#   gen/wolk.binpb   the FileDescriptorSet (with imports) that server reflection serves
# Usage: scripts/gen.sh [BASE_DIR]   writes BASE_DIR/gen (default: the repository's gen/; the
# freshness test in test/unit/proto passes a temporary directory).
set -eu
cd "$(dirname "$0")/.."
base="${1:-.}"
buf="node_modules/.bin/buf"
"$buf" lint
rm -rf "$base/gen"
mkdir -p "$base/gen"
"$buf" generate --output "$base"
"$buf" build --output "$base/gen/wolk.binpb"
# The gRPC health proto's descriptors (from grpc-health-check), served by reflection beside ours:
# proto-loader's descriptors of it are not accepted by `buf curl` (TOOLCHAIN.md).
"$buf" build node_modules/grpc-health-check/proto --output "$base/gen/health.binpb"
