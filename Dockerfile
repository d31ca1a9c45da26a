# syntax=docker/dockerfile:1
# The todo API as a container. Build at the repository root (the plugin is a workspace package):
#   docker build -t todo-api .
#   docker run -p 8080:8080 -e AZURE_TENANT_ID=... -e AZURE_CLIENT_ID=... todo-api
# No secrets are baked in: configuration comes from environment variables at run time (see README).
# test/dockerfile.test.ts replays these steps outside Docker; keep to WORKDIR, COPY, RUN, ENV, USER, EXPOSE,
# HEALTHCHECK and CMD so it can.

# Node.js 24, the current Active LTS, on Debian bookworm (glibc: better-sqlite3 installs a prebuilt binary).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer stays cached while only the source changes.
COPY package.json package-lock.json ./
COPY packages/fastify-entra-id/package.json packages/fastify-entra-id/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY packages/fastify-entra-id/tsconfig.build.json packages/fastify-entra-id/
COPY packages/fastify-entra-id/src packages/fastify-entra-id/src
COPY app.ts server.ts ./
COPY lib lib
COPY plugins plugins
COPY routes routes
COPY scripts scripts
# The plugin to packages/fastify-entra-id/dist, the service to dist/; then drop development dependencies.
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund
RUN mkdir -p data

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json ./
# node_modules/fastify-entra-id is a link to the workspace package, copied next to it.
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/fastify-entra-id/package.json packages/fastify-entra-id/
COPY --from=build /app/packages/fastify-entra-id/dist packages/fastify-entra-id/dist
COPY --from=build /app/dist dist
# The SQLite file and the development keys live under DATA_DIR: the only directory the service writes.
COPY --from=build --chown=node:node /app/data data
# The image's unprivileged user (uid 1000).
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
