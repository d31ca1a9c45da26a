# syntax=docker/dockerfile:1
# The todo API as a container. Build at the repository root (the plugin is a workspace package):
#   docker build -t todo-api .
#   docker run -p 8080:8080 -e AZURE_TENANT_ID=... -e AZURE_CLIENT_ID=... todo-api
# No secrets are baked in: configuration comes from environment variables at run time (see README).
# test/slow/dockerfile.test.ts replays these steps outside Docker; keep to WORKDIR, COPY, RUN, ENV, USER, EXPOSE,
# HEALTHCHECK and CMD so it can.

# Node.js 24, an LTS line, on Debian bookworm (glibc: better-sqlite3 downloads a prebuilt binary where it can).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# A C++ toolchain, for better-sqlite3 wherever no prebuilt binary can be downloaded (another CPU or libc, a
# closed network): the slim image has none. The build stage only: the runtime image never compiles.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first: this layer stays cached while only the service's source changes. `npm ci` also builds the
# plugin (the root's `prepare` script), so the plugin's source comes with the manifests.
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/fastify-entra-id/package.json packages/fastify-entra-id/tsconfig.build.json packages/fastify-entra-id/
COPY packages/fastify-entra-id/src packages/fastify-entra-id/src
COPY packages/test-kit/package.json packages/test-kit/
RUN npm ci --no-audit --no-fund
# Then the build context, which .dockerignore keeps free of tests, docs, local state and secrets: the service's
# folders are listed once, in tsconfig.build.json, and a new one needs no line here.
COPY . .
# The service to dist/, with dist/server.js, the entry CMD starts (and the plugin again, a no-op when unchanged);
# then drop development dependencies.
RUN npm run build
# No scripts: pruning only removes packages (TypeScript among them), so nothing may run here.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# better-sqlite3 needs only its compiled addon at run time: drop the SQLite sources and the compiler's
# intermediates (about 25 MB) so the runtime stage copies what runs and nothing else.
RUN cd node_modules/better-sqlite3 && mv build/Release/better_sqlite3.node ./better_sqlite3.node && \
    rm -rf build deps src && mkdir -p build/Release && mv ./better_sqlite3.node build/Release/better_sqlite3.node
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
