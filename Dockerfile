# syntax=docker/dockerfile:1.7
# Control-plane image: `docker build -t consortia/control-plane .`
# (the chain-node image is node-image/Dockerfile; `npm run images` builds both with buildah, no
# Docker engine: .ci/tools/images.sh). Multi-stage: compile with dev dependencies, ship only
# dist/ and production dependencies, run as a non-root user.

# Build stages need node + npm, the runtime stage only node. Both default to the official image;
# .ci/tools/images.sh passes Debian-built bases (npm only in NODE_IMAGE).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG NODE_RUNTIME_IMAGE=${NODE_IMAGE}

# --- production dependencies only (level ships prebuilt native bindings for glibc) ---
FROM ${NODE_IMAGE} AS deps
# Unset unless the builder passes it (a CA bundle for npm behind a TLS-intercepting proxy).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-fund --no-audit

# --- compile TypeScript ---
# Same instructions as the build stage of node-image/Dockerfile up to tsc, so that a layer-caching
# builder (buildah --layers, BuildKit) runs this npm ci and tsc once for both images.
FROM ${NODE_IMAGE} AS build
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-fund --no-audit
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# --- runtime ---
FROM ${NODE_RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="consortia-control-plane" \
      org.opencontainers.image.description="Consortia control plane: REST API, key ceremony, reconciler, local and kubernetes runtimes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    CONSORTIA_DATA_DIR=/data \
    CONSORTIA_LISTEN=0.0.0.0:8080
WORKDIR /app
# Fixed UID/GID 10001 (the Helm chart's podSecurity default); /data is the embedded store.
RUN groupadd --system --gid 10001 consortia \
 && useradd --system --uid 10001 --gid consortia --home-dir /app --shell /usr/sbin/nologin consortia \
 && mkdir -p /data && chown consortia:consortia /data
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
# No curl in the image: node's https client. The API serves HTTPS (a self-signed certificate unless
# CONSORTIA_TLS_CERT_FILE is set); this checks health, not the certificate (docs/trust-model.md).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('node:https').get({host:'127.0.0.1',port:(process.env.CONSORTIA_LISTEN||':8080').split(':').pop(),path:'/healthz',rejectUnauthorized:false,timeout:2500},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
CMD ["node", "dist/control-plane/main.js"]
