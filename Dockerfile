# syntax=docker/dockerfile:1
# One image for the user service, the content service and the gateway; the command picks which.
#   docker build -t acme-gateway .
#   docker run --rm -p 8080:8080 acme-gateway node dist/gateway/main.js --config /etc/acme/gateway.yaml
# gen/ (ts-proto output and api.binpb) is committed, so the build needs no buf and no network
# beyond the npm registry.
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies first, so editing sources reuses this layer. npm 11 runs no install scripts by
# default; nothing in the build needs one (buf's binary comes as an optional platform package).
RUN npm ci --no-audit --no-fund
# Everything .dockerignore lets through (sources, gen/, tsconfigs): a new source folder needs no
# edit here.
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    USER_ADDR=0.0.0.0:50051 \
    CONTENT_ADDR=0.0.0.0:50052 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080
# glibc mmaps allocations of 128 KiB and more (a request body's block) rather than raising that
# threshold after the first free, so a released body's pages leave the process (README "Security").
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/gen/api.binpb ./gen/api.binpb
# The code is root-owned and read-only to the process; only DATA_DIR (embedded database, signing
# key when no Secret provides it) is writable. `node` is uid 1000 in the official images.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 50051 50052
# The gateway by default; the services run `node dist/services/user/main.js` / `.../content/main.js`.
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=1024", "dist/gateway/main.js"]
