# Skiff itself in a container. It drives the host's Docker engine through the
# mounted socket. The base image is a setting: point BASE at a Node 20 image
# your engine can reach (Skiff never assumes a public registry is).
#   docker build --build-arg BASE=node:20-bookworm-slim -t skiff .
#   docker run -d --name skiff --network host -v /var/run/docker.sock:/var/run/docker.sock \
#     -v skiff:/var/lib/skiff -e SKIFF_DOMAIN=example.com skiff
# (host network: Skiff checks each new release on the host port it publishes.)
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/skiff
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/skiff
COPY --from=build /opt/skiff/node_modules ./node_modules
COPY --from=build /opt/skiff/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY hooks ./hooks
ENV SKIFF_HOME=/var/lib/skiff SKIFF_SSH_PORT=2222 SKIFF_BIND=0.0.0.0
VOLUME /var/lib/skiff
EXPOSE 2222
CMD ["node", "/opt/skiff/bin/skiff.js", "server"]
