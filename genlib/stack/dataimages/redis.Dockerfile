# genlib's offline redis image: Debian's redis-server on genlib's base image, uid 999 and /data as in
# the official image, so docker-compose.yml.j2 runs either one unchanged. Built by `genlib base-image`.
ARG BASE=genlib/base:bookworm
FROM ${BASE}
RUN groupadd -r -g 999 redis && useradd -r -g redis -u 999 -d /data -s /bin/sh redis \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 999 -g 999 -m 700 /data
WORKDIR /data
USER 999:999
CMD ["redis-server"]
