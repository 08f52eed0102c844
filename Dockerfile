# meshcache node image: multi-stage, non-root, Node 24 LTS.
# Build from the repository root: docker build -t meshcache/node:dev .

# Compile TypeScript with every dev dependency.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.build.json ./
COPY proto/package.json proto/
COPY client/package.json client/
COPY node/package.json node/
COPY operator/package.json operator/
COPY bench/package.json bench/
COPY e2e/package.json e2e/
RUN npm ci --no-audit --no-fund
COPY proto proto
COPY client client
COPY node node
RUN npx tsc -b proto client node

# Production dependencies of the node workspace only.
FROM node:24-bookworm-slim AS deps
WORKDIR /src
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/proto/package.json proto/
COPY --from=build /src/client/package.json client/
COPY --from=build /src/node/package.json node/
COPY --from=build /src/operator/package.json operator/
COPY --from=build /src/bench/package.json bench/
COPY --from=build /src/e2e/package.json e2e/
RUN npm ci --omit=dev --workspace @meshcache/node --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/node_modules node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/proto/package.json proto/
COPY --from=build /src/proto/dist proto/dist
COPY --from=build /src/client/package.json client/
COPY --from=build /src/client/dist client/dist
COPY --from=build /src/node/package.json node/
COPY --from=build /src/node/dist node/dist
USER node
# gRPC data plane, admin HTTP, gossip, Redis protocol.
EXPOSE 7070 8080 7946 6379
# Exec form, no shell or npm wrapper, so SIGTERM reaches the node process itself.
# V8 flags as NODE_V8_FLAGS (operator/src/runtime/nodeBinary.ts says why; a test keeps them equal).
ENTRYPOINT ["node", "--max-semi-space-size=8", "/app/node/dist/bin/meshcache-node.js"]
