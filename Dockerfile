# One image for the worker and the gateway (the compose file picks the command).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src src
COPY workflows workflows
COPY activities activities
COPY interpreter interpreter
COPY test test
COPY studio studio
# The build also writes dist/workflow-bundles/, which the worker loads instead of bundling at start;
# they are checked against dist/ and the production packages only, so the pruning keeps them current.
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# In a container the gateway must listen on every interface to be reachable through a published
# port (outside one it binds to 127.0.0.1 unless WEFT_GATEWAY_HOST says otherwise).
ENV WEFT_GATEWAY_HOST=0.0.0.0
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
# Not root: the image's `node` user (uid 1000) owns only the data dir.
RUN mkdir -p /app/data && chown node:node /app/data
ENV WEFT_DATA_DIR=/app/data
USER node
CMD ["node", "dist/src/cli/gateway.js"]
