# One image for every service; the command picks the app:
#   docker run IMAGE node apps/api/dist/main.js
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY libs ./libs
COPY apps ./apps
COPY fleets ./fleets
RUN npm ci --no-audit --no-fund && npx turbo run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# A container is reached through its published ports: listen on every interface (the default is loopback).
ENV NODE_ENV=production LOG_FORMAT=json HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
USER node
CMD ["node", "apps/api/dist/main.js"]
