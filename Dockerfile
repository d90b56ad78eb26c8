# syntax=docker/dockerfile:1
# One image for all five Wolk services. The Kubernetes manifests choose the service with the command
#   node --import ./dist/lib/telemetry/preload.js dist/services/<name>/main.js
# which is exactly the package.json script serve:<name> (test/unit/deploy checks both).
#
#   docker build -t wolk:dev .
#
# Debian (glibc), not alpine: rocksdb's shipped prebuilt linux-x64 binary links against glibc, so
# no compiler is needed in either stage. Not included: librados and the native RADOS addon
# (scripts/ceph/build-addon.sh), so storers use WOLK_STORE=rocksdb on their RBD volume; nor the native
# addons of scripts/build-native.mjs (native/merkle, native/porep, native/vrf), so hashing, sealing and
# VRF proofs run on their JS paths (same results; VRF verification about 15x slower, the largest gap
# for validators). Building them into the image needs a compiler in the build stage (not done yet).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first so that source edits reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY lib ./lib
COPY services ./services
RUN npm run build && npm prune --omit=dev

# ---- runtime: node_modules, dist, gen (the reflection descriptor sets are read at run time) ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric USER, and the
# manifests' runAsUser/fsGroup use the same 10001. /data is where WOLK_DATA_DIR points in the
# cluster (a Ceph RBD volume is mounted over it); owning it lets `docker run` work without a volume.
RUN groupadd --system --gid 10001 wolk \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin wolk \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/gen ./gen
USER 10001:10001
ENV WOLK_DATA_DIR=/data
# storer, consensus, rewards, indexer, gateway gRPC health, gateway HTTP
EXPOSE 7001 7002 7003 7004 7005 8080
CMD ["node", "--import", "./dist/lib/telemetry/preload.js", "dist/services/gateway/main.js"]
