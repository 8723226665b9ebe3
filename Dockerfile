# syntax=docker/dockerfile:1
# acnsd container image. Build: docker build -t acnsd .
# Stage 1 builds the acnsd wheel (with its C reader of zone files: gcc) and collects the
# wheels of its dependencies; stage 2 installs them from that directory only (no index, no
# compiler) and runs as `acnsd`.
# tests/ops/test_dockerfile.py lints this file with hadolint and replays its install
# and start steps in a fresh virtual environment.

FROM python:3.11-slim AS build
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY server ./server
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[fast]'

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ACNSD_HEALTH_QNAME=example.com \
    ACNSD_HEALTH_PORT=53
RUN groupadd --system --gid 5353 acnsd \
    && useradd --system --uid 5353 --gid acnsd --home-dir /srv/acnsd --no-create-home \
       --shell /usr/sbin/nologin acnsd
# Only /wheels is searched, and it holds what stage 1 built from this tree: no pins needed.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels 'acnsd[fast]'
WORKDIR /srv/acnsd
COPY config/docker.yaml /srv/acnsd/config/acnsd.yaml
COPY zones/ /srv/acnsd/zones/
RUN mkdir -p /srv/acnsd/state && chown acnsd:acnsd /srv/acnsd/state
VOLUME ["/srv/acnsd/config", "/srv/acnsd/zones", "/srv/acnsd/state"]
USER 5353:5353
EXPOSE 53/udp 53/tcp 9153/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, dns.message, dns.query, dns.rcode; q = dns.message.make_query(os.environ['ACNSD_HEALTH_QNAME'], 'SOA'); r = dns.query.udp(q, '127.0.0.1', port=int(os.environ['ACNSD_HEALTH_PORT']), timeout=3); raise SystemExit(0 if r.rcode() == dns.rcode.NOERROR and r.answer else 1)"]
ENTRYPOINT ["acnsd"]
CMD ["serve", "--config", "/srv/acnsd/config/acnsd.yaml"]
