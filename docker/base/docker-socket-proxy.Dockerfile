# The Docker socket filter from Debian's haproxy, a stand-in for tecnativa/docker-socket-proxy:0.3.0: the same
# environment switches (CONTAINERS, IMAGES, NETWORKS, VOLUMES, POST, ...; 1 allows) on port 2375.
ARG BASE_IMAGE=giga-local/debian-python:3.11-bookworm
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY docker-socket-proxy.cfg /usr/local/etc/haproxy/haproxy.cfg
# Tecnativa's defaults: read-only basics on, everything else off
ENV SOCKET_PATH=/var/run/docker.sock \
    EVENTS=1 PING=1 VERSION=1 \
    AUTH=0 BUILD=0 COMMIT=0 CONFIGS=0 CONTAINERS=0 DISTRIBUTION=0 EXEC=0 IMAGES=0 INFO=0 NETWORKS=0 \
    NODES=0 PLUGINS=0 POST=0 SECRETS=0 SERVICES=0 SESSION=0 SWARM=0 SYSTEM=0 TASKS=0 VOLUMES=0
EXPOSE 2375
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
