# Container image for pgswift, the PostgreSQL connection pooler.
#
#   docker build -t pgswift .
#   docker run --rm -p 6432:6432 -v /path/to/conf:/etc/pgswift:ro pgswift
#
# The mounted directory replaces the sample pgswift.ini and userlist.txt
# baked in below; point its [databases] entries at your PostgreSQL server
# (127.0.0.1 inside a container is the container itself). Single keys can
# also be set with PGSWIFT_<KEY> environment variables.
#
# On SIGTERM pgswift lets clients finish for up to shutdown_timeout (30 s by
# default), longer than docker stop's 10 s grace period: use
# `docker stop -t 40` or lower shutdown_timeout.

# ---- build stage -----------------------------------------------------------
# swift:6.3-bookworm is the Swift 6.3 toolchain on Debian 12 "bookworm", the
# same Debian release as the runtime stage.
FROM swift:6.3-bookworm AS build

# OpenSSL headers for CLibCrypto (links libcrypto), libpg_query for CPgQuery (linked statically), zlib and brotli
# for ResponseOptimizer, hiredis and libmemcached for the result cache's Redis and Memcached tiers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev libpg-query-dev zlib1g-dev libbrotli-dev libhiredis-dev libmemcached-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Fetch dependencies in their own layer, reused while only sources change.
# Package.* also picks up Package.resolved when one is present.
COPY Package.* ./
RUN swift package resolve

COPY . .
# --static-swift-stdlib links the Swift runtime into the binary, so the
# runtime image needs no Swift libraries.
RUN swift build -c release --static-swift-stdlib \
    && install -D -m 0755 .build/release/pgswift /staging/pgswift

# ---- runtime stage ---------------------------------------------------------
FROM debian:bookworm-slim

# libssl3 provides libcrypto.so.3; zlib, brotli, hiredis and libmemcached the
# shared libraries pgswift links; ca-certificates lets server TLS verify
# public CAs; tzdata gives correct local times in logs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 zlib1g libbrotli1 libhiredis0.14 libmemcached11 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system pgswift \
    && useradd --system --gid pgswift --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin pgswift

COPY --from=build /staging/pgswift /usr/local/bin/pgswift
COPY etc/pgswift.ini etc/userlist.txt /etc/pgswift/
RUN chown -R root:pgswift /etc/pgswift \
    && chmod 0750 /etc/pgswift \
    && chmod 0640 /etc/pgswift/pgswift.ini /etc/pgswift/userlist.txt

# The sample listens on 127.0.0.1 only, which nothing outside the container
# can reach; listen on every address instead.
ENV PGSWIFT_LISTEN_ADDR=*

USER pgswift
EXPOSE 6432

ENTRYPOINT ["/usr/local/bin/pgswift"]
CMD ["/etc/pgswift/pgswift.ini"]
