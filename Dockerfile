# Skiff itself in a container. It drives the host's Docker engine through the
# mounted socket, and runs its router (Caddy) and git inside. The base image is
# a setting: point BASE at a Node 20 image your engine can reach (Skiff never
# assumes a public registry is).
#   docker build --build-arg BASE=node:20-bookworm-slim -t skiff .
#   docker run -d --name skiff --restart unless-stopped --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock -v /var/lib/skiff:/var/lib/skiff \
#     -v /sys/fs/cgroup:/sys/fs/cgroup \
#     -e SKIFF_DOMAIN=example.com skiff
#   docker exec -i skiff skiff keys:add NAME --admin < ~/.ssh/id_ed25519.pub
# Host network: the router and the SSH server listen on the host, and each new
# release is checked on the loopback port the engine publishes it on. The state
# directory is mounted at the same path as on the host: the engine, which is
# the host's, is given paths under it (a stack build's socket). The host's
# cgroup file system is mounted writable: each build gets a cgroup there that
# bounds its processes.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/skiff
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM ${BASE}
# git serves the pushes; caddy is the router (Debian's package; its own service is not used).
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates caddy && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/skiff
COPY --from=build /opt/skiff/node_modules ./node_modules
COPY --from=build /opt/skiff/dist ./dist
COPY package.json README.md ./
COPY bin ./bin
COPY hooks ./hooks
RUN ln -s /opt/skiff/bin/skiff.js /usr/local/bin/skiff
ENV SKIFF_HOME=/var/lib/skiff SKIFF_SSH_PORT=2222 SKIFF_BIND=0.0.0.0
VOLUME /var/lib/skiff
EXPOSE 2222 80
CMD ["node", "/opt/skiff/bin/skiff.js", "server"]
