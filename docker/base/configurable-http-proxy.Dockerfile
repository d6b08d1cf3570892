# configurable-http-proxy from npm on Debian's nodejs, a stand-in for quay.io/jupyterhub/configurable-http-proxy:
# run as nobody, and the same entrypoint: the arguments go to configurable-http-proxy (its API on every
# interface unless --api-ip is given, as the published image's chp-docker-entrypoint does).
# Its node_modules come from the build context (chp/node_modules): build.sh installs them with the host's npm
# from the project's package-lock.json (the version `make node` installs), pure JavaScript, so the image needs
# only Debian's `nodejs`: installing Debian's `npm` in here (about 300 packages) was most of the build's time.
ARG BASE_IMAGE=giga-local/debian-python:3.11-bookworm
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
COPY chp/node_modules /opt/configurable-http-proxy/node_modules
RUN ln -s /opt/configurable-http-proxy/node_modules/configurable-http-proxy/bin/configurable-http-proxy \
      /usr/local/bin/configurable-http-proxy \
 && configurable-http-proxy --version
COPY chp-docker-entrypoint /usr/local/bin/chp-docker-entrypoint
USER 65534
EXPOSE 8000 8001
ENTRYPOINT ["/usr/local/bin/chp-docker-entrypoint"]
