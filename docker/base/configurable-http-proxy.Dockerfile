# configurable-http-proxy from npm on Debian's nodejs, a stand-in for quay.io/jupyterhub/configurable-http-proxy:
# run as nobody, and the same entrypoint: the arguments go to configurable-http-proxy (its API on every
# interface unless --api-ip is given, as the published image's chp-docker-entrypoint does).
ARG BASE_IMAGE=giga-local/debian-python:3.11-bookworm
FROM ${BASE_IMAGE}
ARG CHP_VERSION=5.3.0
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && npm install --global --omit=dev --no-fund --no-audit "configurable-http-proxy@${CHP_VERSION}" \
 && npm cache clean --force \
 && apt-get purge -y npm && apt-get autoremove -y --purge \
 && rm -rf /var/lib/apt/lists/* /root/.npm
COPY chp-docker-entrypoint /usr/local/bin/chp-docker-entrypoint
USER 65534
EXPOSE 8000 8001
ENTRYPOINT ["/usr/local/bin/chp-docker-entrypoint"]
