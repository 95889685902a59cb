# genlib's offline postgres image: Debian's postgresql on genlib's base image, with the official
# image's interface (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA, CMD postgres) and the same
# uid (999), so docker-compose.yml.j2 runs either one unchanged. Built by `genlib base-image`.
ARG BASE=genlib/base:bookworm
FROM ${BASE}
# The user first, so the package keeps uid 999; no default cluster: the entrypoint makes one in the volume.
RUN groupadd -r -g 999 postgres && useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/sh postgres \
 && mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 999 -g 999 -m 700 /var/lib/postgresql/data
# Mounted as a tmpfs (the root is read-only), which keeps this mode: the server's socket and lock file.
RUN chmod 3777 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER 999:999
# Through sh: the build context carries no file modes.
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
