#!/usr/bin/env bash
# Closed-network build (閉域網): every image of docker/compose.yaml made from Debian packages only, no image
# pulled from a registry. Run from anywhere, as root (debootstrap), with Docker Engine running:
#
#   docker/base/build.sh            # base + third-party equivalents + giga lms/hub/student/grader
#   docker/base/build.sh debian     # only the Debian base
#   docker/base/build.sh base       # only the Debian base (debootstrap) and the third-party equivalents
#
# It makes:
#   ${GIGA_LOCAL_REGISTRY}/debian-python:3.11-bookworm   debootstrap'd bookworm + python3.11 + venv (= PYTHON_IMAGE)
#   ${GIGA_LOCAL_REGISTRY}/postgres:15                   Debian's postgresql-15, the official image's variables
#   ${GIGA_LOCAL_REGISTRY}/caddy:2                       Debian's caddy
#   ${GIGA_LOCAL_REGISTRY}/configurable-http-proxy:5.3.0 npm's configurable-http-proxy on Debian's nodejs
#   ${GIGA_LOCAL_REGISTRY}/docker-socket-proxy:0.3.0     Debian's haproxy with Tecnativa's filter rules
# and the platform's own images on top of the first one. docker/base/local-images.env holds the compose
# variables that select them (append it to docker/.env); without them compose uses the published images.
#
# What the images install from PyPI and npm is downloaded once, on the host, into the build contexts: one
# wheelhouse for the three Python images (docker/wheelhouse, from the hashed locks, with the host's pip; the
# images then install with --no-index) and configurable-http-proxy's node_modules (docker/base/chp, with the
# host's npm, from the project's package-lock.json). Without a host pip (GIGA_HOST_PIP) the images download
# from PyPI themselves, as a plain `docker build` does.
#
# The base trusts the host's certificate authorities (its CA bundle is copied in and pip is pointed at it):
# a closed network usually reaches the package mirrors through a proxy with the board's own CA.
set -euo pipefail
cd "$(dirname "$0")/../.."

REGISTRY="${GIGA_LOCAL_REGISTRY:-giga-local}"
VERSION="${GIGA_VERSION:-0.1.0}"
PROJECT_REGISTRY="${GIGA_REGISTRY:-giga}"
SUITE="${GIGA_DEBIAN_SUITE:-bookworm}"
MIRROR="${GIGA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA_BUNDLE="${GIGA_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
BASE="$REGISTRY/debian-python:3.11-$SUITE"
SECURITY_MIRROR="${GIGA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
DEBOOTSTRAP_CACHE="${GIGA_DEBOOTSTRAP_CACHE:-/var/cache/giga-debootstrap}"
WHAT="${1:-all}"
WHEELHOUSE=docker/wheelhouse
HOST_PIP="${GIGA_HOST_PIP:-.venv/bin/pip}"
PIP_NO_INDEX=0  # 1 once the wheelhouse holds every locked file (fill_wheelhouse's .complete)
# BuildKit's Dockerfile frontend (the `# syntax=` line) is an image from Docker Hub: the legacy builder
# needs nothing from a registry. It reads only the context root's .dockerignore (kept equal to the union of
# the per-Dockerfile ones by tests/deploy_stack).
export DOCKER_BUILDKIT=0
NICE=(nice -n "${GIGA_BUILD_NICE:-10}")

log() { printf '== %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
timed_build() {  # tag, then docker build arguments
  local tag="$1" start
  shift
  start=$(date +%s)
  "${NICE[@]}" docker build -q -t "$tag" "$@" >/dev/null
  printf '   built %-50s in %4ss, %s\n' "$tag" "$(($(date +%s) - start))" \
    "$(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}')"
}

build_base() {
  if have_image "$BASE" && [ "${GIGA_REBUILD_BASE:-0}" != 1 ]; then
    log "base $BASE exists (GIGA_REBUILD_BASE=1 makes it again)"
    return
  fi
  local start include=python3.11,python3.11-venv,python3-distutils,python3-lib2to3,python-is-python3,ca-certificates
  # the same suites as the official Debian images: the release, its point releases and security updates
  local sources=("deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main")
  root="$(mktemp -d /var/tmp/giga-base.XXXXXX)"
  trap 'rm -rf "$root" "$root.log"' EXIT
  start=$(date +%s)
  if command -v mmdebstrap >/dev/null; then
    # mmdebstrap (Debian's package; apt's resolver, one download and unpack pass) takes the packages from the
    # three suites at once: no upgrade afterwards. Measured on the loaded 2-core machine: the base in 113 s,
    # where debootstrap and the upgrade took 392 s. dpkg without an fsync per file (the official images'
    # docker-apt-speedup) stays set in the image (/etc/dpkg/dpkg.cfg.d/99mmdebstrap): every later
    # `apt-get install` gains too; a lost build is made again, never repaired.
    log "mmdebstrap $SUITE from $MIRROR (with $SUITE-updates and $SUITE-security)"
    # merged /usr made as debootstrap makes it (the usr-is-merged package), or apt installs usrmerge and with it
    # perl (47 MB in every image); no Recommends, as debootstrap
    "${NICE[@]}" mmdebstrap --mode=root --variant=minbase --include="$include" --dpkgopt=force-unsafe-io \
      --aptopt='APT::Install-Recommends "false"' --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      "$SUITE" "$root" "${sources[@]}" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
  else
    command -v debootstrap >/dev/null || { echo "mmdebstrap (or debootstrap) is missing: apt-get install mmdebstrap" >&2; exit 1; }
    log "debootstrap $SUITE from $MIRROR"
    # python3-distutils and python3-lib2to3: python3.11-venv needs them through virtual names debootstrap does
    # not resolve. The downloaded packages stay in GIGA_DEBOOTSTRAP_CACHE for the next build.
    mkdir -p "$DEBOOTSTRAP_CACHE"
    "${NICE[@]}" debootstrap --variant=minbase --cache-dir="$DEBOOTSTRAP_CACHE" --include="$include" \
      "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
    printf '%s\n' "${sources[@]}" >"$root/etc/apt/sources.list"
    echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q' >>"$root.log" 2>&1 \
      || { tail -20 "$root.log" >&2; exit 1; }
  fi
  log "   bootstrapped in $(($(date +%s) - start))s"
  : >"$root/etc/resolv.conf"  # Docker provides the containers' own
  # the host's authorities join Debian's (update-ca-certificates keeps them when a later package reruns it)
  mkdir -p "$root/usr/local/share/ca-certificates/host"
  awk 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++; f=sprintf("'"$root"'/usr/local/share/ca-certificates/host/%04d.crt", n)} f{print > f} /END CERTIFICATE/{close(f); f=""}' "$HOST_CA_BUNDLE"
  chroot "$root" update-ca-certificates >/dev/null 2>&1  # (warns about every duplicate)
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
  # what the official slim images also drop: apt lists, caches, docs and man pages, and no recommends
  # and apt keeps no downloaded package nor its binary caches (the official Debian images' docker-clean):
  # without this every `apt-get install` layer carried the .deb files and ~80 MB of caches
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90giga"
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$root/etc/dpkg/dpkg.cfg.d/90giga"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*.log
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  tar -C "$root" --numeric-owner -c . | docker import \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["bash"]' - "$BASE" >/dev/null
  printf '   built %-50s in %4ss, %s\n' "$BASE" "$(($(date +%s) - start))" \
    "$(docker image inspect -f '{{.Size}}' "$BASE" | awk '{printf "%.0f MB", $1 / 1e6}')"
}

# configurable-http-proxy's node_modules for its image's context: the host's npm, the project's lock (the
# version `make node` installs). Pure JavaScript: the image needs Debian's nodejs only, not Debian's npm.
stage_chp() {
  local dir=docker/base/chp version
  command -v npm >/dev/null || { echo "npm is missing (configurable-http-proxy's modules): apt-get install npm" >&2; exit 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  cp package.json package-lock.json "$dir/"
  (cd "$dir" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  rm -rf "$dir/node_modules/jsqr"  # the project's other runtime package (the LMS serves a copy of it)
  version="$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$dir/node_modules/configurable-http-proxy/package.json")"
  [ "$version" = "$CHP_VERSION" ] || { echo "package-lock.json has configurable-http-proxy $version, the image tag says $CHP_VERSION" >&2; exit 1; }
}

# One wheelhouse for lms, hub and student: every file of the three hashed locks, downloaded once by the host's
# pip (CPython 3.11 on Linux x86-64, as the images), plus setuptools and wheel to build unidic-lite (a source
# archive only) without an index. The images install from it with --no-index: nothing comes from PyPI there.
fill_wheelhouse() {
  local lock start
  if ! [ -x "$HOST_PIP" ] || ! "$HOST_PIP" --version | grep -q '(python 3\.11)'; then
    log "no host pip for CPython 3.11 ($HOST_PIP, GIGA_HOST_PIP): the images download from PyPI themselves"
    return
  fi
  start=$(date +%s)
  mkdir -p "$WHEELHOUSE"
  rm -f "$WHEELHOUSE/.complete"
  "$HOST_PIP" download --quiet --only-binary=:all: setuptools wheel -d "$WHEELHOUSE" 2>&1 | grep -v "^WARNING: Location" || true
  for lock in lms hub student; do
    "$HOST_PIP" download --quiet --no-deps --require-hashes --only-binary=:all: --no-binary=unidic-lite \
      -r "docker/requirements/$lock.txt" -d "$WHEELHOUSE" 2>&1 | grep -v "^WARNING: Location" || true
    "$HOST_PIP" download --quiet --no-deps --require-hashes --only-binary=:all: --no-binary=unidic-lite \
      -r "docker/requirements/$lock.txt" -d "$WHEELHOUSE" --no-index --find-links "$WHEELHOUSE" >/dev/null \
      || { echo "the wheelhouse lacks files of docker/requirements/$lock.txt" >&2; exit 1; }
  done
  touch "$WHEELHOUSE/.complete"
  printf '   wheelhouse %s: %s files, %s, in %ss\n' "$WHEELHOUSE" "$(find "$WHEELHOUSE" -name '*.whl' -o -name '*.tar.gz' | wc -l)" \
    "$(du -sh "$WHEELHOUSE" | cut -f1)" "$(($(date +%s) - start))"
}

build_third_party() {
  log "third-party equivalents from Debian packages"
  local name
  for name in postgres caddy configurable-http-proxy docker-socket-proxy; do
    timed_build "$(third_party_tag "$name")" --build-arg "BASE_IMAGE=$BASE" \
      -f "docker/base/$name.Dockerfile" docker/base
  done
}

third_party_tag() {
  case "$1" in
    postgres) echo "$REGISTRY/postgres:15" ;;
    caddy) echo "$REGISTRY/caddy:2" ;;
    configurable-http-proxy) echo "$REGISTRY/configurable-http-proxy:5.3.0" ;;
    docker-socket-proxy) echo "$REGISTRY/docker-socket-proxy:0.3.0" ;;
  esac
}

platform_build() {  # lms, hub or student
  timed_build "$PROJECT_REGISTRY/$1:$VERSION" --build-arg "PYTHON_IMAGE=$BASE" \
    --build-arg "PIP_NO_INDEX=$PIP_NO_INDEX" -f "docker/$1.Dockerfile" .
}

build_platform() {
  log "the platform's images on $BASE"
  local lms
  # the LMS beside the notebook images: its venv shares nothing with theirs, and each build waits part of
  # the time on the disk (the legacy builder's layer copies), not only on the CPU
  platform_build lms &
  lms=$!
  platform_build hub
  platform_build student
  # the course formgraders with the autograde sandbox: the student image plus bubblewrap
  timed_build "$PROJECT_REGISTRY/grader:$VERSION" --build-arg "STUDENT_IMAGE=$PROJECT_REGISTRY/student:$VERSION" \
    -f docker/grader.Dockerfile .
  wait "$lms"
}

total_start=$(date +%s)
CHP_VERSION="$(third_party_tag configurable-http-proxy)"
CHP_VERSION="${CHP_VERSION##*:}"
if [ "$WHAT" = debian ]; then build_base; exit 0; fi
# the host's downloads (npm, PyPI) wait on the network while the base is made: side by side
{ stage_chp; [ "$WHAT" = base ] || fill_wheelhouse; } &
downloads=$!
build_base
wait "$downloads"
[ -e "$WHEELHOUSE/.complete" ] && PIP_NO_INDEX=1
if [ "$WHAT" = base ]; then
  build_third_party
else
  # the two groups are independent and wait mostly on the network (apt, npm, PyPI): side by side
  build_third_party &
  third_party=$!
  build_platform
  wait "$third_party"
fi
log "done in $(($(date +%s) - total_start))s"
