"""What a deployment runs, whatever runs it: one typed description for the swarm's stack file and the
Kubernetes manifests, so both templates see the same services, images, secrets, probes and volumes.

    registry.yaml + .genlib/release.json + settings -> Deployment
        program services   the released image (HEAD's code and packages), replicas from `replicas`
        data services      the runtime's image (unchanged), one replica, a named volume
        migration jobs     one per postgres service with .sql files: its released migrations image
        secrets            the database password and each database's URL (which holds it)

A secret's value never becomes an environment value: a variable that needs one is named in
`secret_env` (variable -> secret), and the orchestrator hands the file or key to the container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from genlib.app import dataservices
from genlib.app.dataservices import RUNTIMES, is_data, volume_name
from genlib.app.registry import Entry, Registry
from genlib.config import Settings
from genlib.deploy.release import MIGRATE, Release
from genlib.errors import ConfigError
from genlib.stack import compose
from genlib.workspace import Workspace

PASSWORD_SECRET = "db-password"
_REPLICA = re.compile(r"^\s*(?:([a-z0-9][a-z0-9-]*)\s*=\s*)?(\d+)\s*$")


@dataclass(frozen=True)
class Secret:
    name: str  # a swarm secret / a key of the Kubernetes Secret
    value: str


@dataclass(frozen=True)
class Volume:
    name: str  # <service>-data
    target: str


@dataclass(frozen=True)
class Service:
    service: str
    kind: str  # program | data | job
    runtime: str
    image: str
    command: list[str] | None  # None: the image's own
    port: int | None
    replicas: int
    environment: dict[str, str]  # plain values
    secret_env: dict[str, str]  # variable -> the secret whose content it gets
    health_path: str | None  # what HTTP probes ask (Kubernetes' httpGet)
    health_test: list[str] | None  # the container's own check (the swarm's healthcheck)
    volume: Volume | None
    user: str
    tmpfs: list[str]
    depends_on: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Deployment:
    project: str  # the swarm stack / the Kubernetes app label
    iteration: str
    services: list[Service]
    secrets: list[Secret]
    memory: str  # Docker's units: 256m
    cpus: float

    @property
    def volumes(self) -> list[str]:
        return sorted(s.volume.name for s in self.services if s.volume)

    @property
    def memory_k8s(self) -> str:
        """256m -> 256Mi (Kubernetes' binary suffixes)."""
        found = re.fullmatch(r"(\d+)([bkmg]?)b?", self.memory.strip().lower())
        if found is None:
            raise ConfigError(f"setting memory={self.memory!r}: write a number and k, m or g (256m)")
        return found.group(1) + {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}[found.group(2)]


def replicas(setting: str, services: list[str]) -> dict[str, int]:
    """`replicas`: "2" (every program), "notes-api=2" (one; the others 1), "3,notes-api=2" (a default and one)."""
    default, found = 1, {}
    for part in filter(None, (p.strip() for p in setting.split(","))):
        match = _REPLICA.match(part)
        if match is None or int(match.group(2)) < 1:
            raise ConfigError(f"setting replicas={setting!r}: write N or service=N (N >= 1), comma-separated")
        if match.group(1) is None:
            default = int(match.group(2))
        elif match.group(1) not in services:
            raise ConfigError(f"setting replicas names {match.group(1)!r}, not one of {', '.join(services)}")
        else:
            found[match.group(1)] = int(match.group(2))
    return {name: found.get(name, default) for name in services}


def build(ws: Workspace, registry: Registry, release: Release, settings: Settings) -> Deployment:
    by_name = registry.services
    programs = sorted(s for s, c in by_name.items() if not is_data(c.runtime))
    counts = replicas(settings.replicas, programs)
    secrets = _secrets(ws, registry)
    found = []
    for service, comp in sorted(by_name.items()):
        if is_data(comp.runtime):
            found.append(_data(service, comp, settings))
        else:
            found.append(_program(service, comp, by_name, release.images[service], counts[service]))
    for service, image in sorted(release.migrations.items()):
        found.append(_job(service, image))
    return Deployment(ws.project_name, release.iteration, found, secrets, settings.memory, settings.cpus)


def _secrets(ws: Workspace, registry: Registry) -> list[Secret]:
    databases = sorted(s for s, c in registry.services.items() if c.runtime == "postgres")
    if not databases:
        return []
    password = _password(ws)
    found = [Secret(PASSWORD_SECRET, password)]
    for db in databases:
        url = dataservices.url("postgres", db).replace(dataservices.PASSWORD_REF, password)
        found.append(Secret(url_secret(db), url))
    return found


def _password(ws: Workspace) -> str:
    dataservices.ensure_password(ws)
    return dataservices.known_secrets(ws)[0]


def url_secret(database: str) -> str:
    return f"{database}-url"


def _program(service: str, comp: Entry, by_name: dict[str, Entry], image: str, count: int) -> Service:
    plain: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for name, value in compose.links(comp, by_name).items():
        if dataservices.PASSWORD_REF in value:  # a postgres URL: its password stays a secret
            hidden[name] = url_secret(value.rsplit("@", 1)[1].split(":", 1)[0])
        else:
            plain[name] = value
    health = comp.healthcheck if comp.port else None
    return Service(
        service=service,
        kind="program",
        runtime=comp.runtime,
        image=image,
        command=comp.command,
        port=comp.port,
        replicas=count,
        environment={
            "HOME": "/tmp",
            "PYTHONUNBUFFERED": "1",
            **({"PORT": str(comp.port)} if comp.port else {}),
            **plain,
        },
        secret_env=hidden,
        health_path=health,
        health_test=compose.health_test(comp.runtime, comp.port, health) if health and comp.port else None,
        volume=None,
        user="65534:65534",
        tmpfs=["/tmp"],
        depends_on=list(comp.depends_on),
    )


def _data(service: str, comp: Entry, settings: Settings) -> Service:
    data = RUNTIMES[comp.runtime]
    env = dataservices.environment(comp.runtime)
    plain = {k: v for k, v in env.items() if dataservices.PASSWORD_REF not in v}
    hidden = {k: PASSWORD_SECRET for k, v in env.items() if dataservices.PASSWORD_REF in v}
    return Service(
        service=service,
        kind="data",
        runtime=comp.runtime,
        image=settings.image_for(comp.runtime),
        command=list(data.command) if data.command else None,
        port=data.port,
        replicas=1,  # one writer per volume
        environment=plain,
        secret_env=hidden,
        health_path=None,
        health_test=list(data.health),
        volume=Volume(volume_name(service), data.data_dir),
        user=data.user,
        tmpfs=list(data.tmpfs),
    )


def _job(database: str, image: str) -> Service:
    """The one-shot job applying a database's migrations (genlib/deploy/migrate.sh in its image)."""
    return Service(
        service=database + MIGRATE,
        kind="job",
        runtime="postgres",
        image=image,
        command=None,
        port=None,
        replicas=1,
        environment={"PGHOST": database, "PGUSER": dataservices.DB_USER, "PGDATABASE": dataservices.DB_NAME},
        secret_env={"PGPASSWORD": PASSWORD_SECRET},
        health_path=None,
        health_test=None,
        volume=None,
        user=RUNTIMES["postgres"].user,
        tmpfs=["/tmp"],
        depends_on=[database],
    )
