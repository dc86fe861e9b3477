# configstamp's image: one entrypoint, `configstamp <webhook|watcher|certs|plan>`, run as a
# non-root user with a read-only root filesystem (deploy/ sets the pod security).
# The repository builds it with buildah on a locally made node:20-slim (npm run image) and runs it
# on a real test node in CI (docs/install.md, docs/control-plane.md).
#
#   docker build -t ghcr.io/configstamp/configstamp:0.1.0 .

# ---- build: compile TypeScript to dist/ --------------------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY shared ./shared
COPY webhook ./webhook
COPY watcher ./watcher
COPY certs ./certs
RUN npm run build

# ---- runtime: production dependencies and the compiled code only --------------------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# A numeric user (no passwd entry needed) so runAsNonRoot can verify it; deploy/ runs as 10001.
USER 10001:10001
EXPOSE 8443 8080
# A small young generation (V8 semi-space 2 MB instead of up to 16): the watcher allocates in
# bursts (lists, boot) and V8 otherwise keeps the grown space resident; measured in
# docs/benchmarks.md (boot with 5,000 workloads: 125 MB instead of 165-171 MB).
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/bin/configstamp.js"]
CMD ["--help"]
