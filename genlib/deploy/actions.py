"""What `doit release`, `doit deploy`, and `status`/`test` with `target=` do: the graph's tasks call these.

Each prints what it did and raises a GenlibError (one line) when it cannot go ahead.
"""

from __future__ import annotations

from genlib.app import registry
from genlib.config import Settings
from genlib.deploy import k8s, release, swarm
from genlib.documents.results import HttpEvidence
from genlib.errors import ConfigError, DeployError
from genlib.fsutil import sha256_file
from genlib.workspace import Workspace

TARGETS = ("swarm", "k8s")


def check_target(target: str, allowed: tuple[str, ...] = TARGETS) -> str:
    if target not in allowed:
        shown = " or ".join(f"target={t}" for t in allowed)
        raise ConfigError(f"target={target!r} is not known: write {shown}" if target else f"missing {shown}")
    return target


def make_release(ws: Workspace, settings: Settings, push: bool, force: bool) -> None:
    """Build HEAD's images (refused when HEAD is not green, unless `force`); push them with `push`."""
    if not force:
        release.check_green(ws, bool(settings.allow_skipped))
    made = release.release(ws, registry.load(ws), settings)
    if push:
        made = release.push(ws, made, settings)
    print(release.describe(made))


def deploy(ws: Workspace, settings: Settings, target: str, down: bool, volumes: bool) -> None:
    if check_target(target) == "swarm" and down:
        swarm.down(ws, volumes)
        return
    if down:
        raise ConfigError("down=1 is for target=swarm; remove Kubernetes objects with `kubectl delete -f deploy/k8s/`")
    made = release.load(ws)
    if made.registry_sha256 != sha256_file(ws.registry_path):
        raise DeployError(f"the app changed since the release of {made.iteration}: run `doit release` first")
    if target == "k8s":
        k8s.write(ws, settings)
        return
    found = swarm.deploy(ws, settings)
    print(swarm.status_table(swarm.stack_name(ws), found))


def status(ws: Workspace, target: str) -> None:
    check_target(target, ("swarm",))
    swarm.require_swarm()
    print(swarm.status_table(swarm.stack_name(ws)))


def test(ws: Workspace, settings: Settings) -> bool:
    """test.yaml against the swarm's stack; False when a scenario failed."""
    from genlib.checks import runner
    from genlib.deploy import verify

    report = verify.test(ws, settings)
    allow = bool(settings.allow_skipped)
    print(runner.render_table(report, allow_skipped=allow))
    unanswered = [r for r in report.failing if isinstance(r.evidence, HttpEvidence) and r.evidence.status is None]
    if settings.swarm_mesh and unanswered:
        print(MESH_HINT)
    return runner.green(report, allow)


MESH_HINT = (
    "note: nothing answered on a published port: the routing mesh needs IPVS (the kernel's ip_vs; dockerd's log says "
    "'ipvs is not enabled' where it is missing): deploy again with swarm_mesh=false"
)
