# Dockerfile: multi-stage build of hookline's programs on Debian 12.
# The build stage installs the -dev packages and runs the project's one
# Makefile; the runtime stage carries only the shared libraries and bin/.
# It builds no tests and starts no Redis (docker-compose.yml does that).
# bin/ holds hookline-ingest, hookline-worker, hookline-fakegraph and
# hookctl (on PATH: `docker compose exec ingest hookctl doctor`).

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc make libc6-dev pkg-config \
        libevent-dev libhiredis-dev libcurl4-openssl-dev libjson-c-dev \
        libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" all

FROM debian:12-slim AS runtime
# curl is only for the container healthcheck of ingest's /readyz;
# ca-certificates lets libcurl verify graph.facebook.com.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libhiredis0.14 libcurl4 \
        libjson-c5 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin \
        hookline
WORKDIR /app
COPY --from=build /src/bin/ /app/bin/
USER hookline
ENV PATH=/app/bin:$PATH \
    PORT=3000 \
    HOOKLINE_LISTEN=0.0.0.0
EXPOSE 3000
CMD ["bin/hookline-ingest"]
