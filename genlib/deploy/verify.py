"""`doit test target=swarm`: test.yaml against the deployed stack, so a release is checked where it runs.

The scenarios run as under `doit test` (genlib.checks.runner), against the ports the swarm publishes; logs
and exec scenarios reach the service's containers on this node. The outcome goes to
.genlib/swarm-results.json, not into the iteration: heal reads what the local stack did.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genlib.checks import runner
from genlib.config import Settings
from genlib.deploy import release as releases
from genlib.deploy import swarm
from genlib.documents import results
from genlib.documents.results import MigrationsEvidence, Result, RunReport
from genlib.errors import DeployError
from genlib.logscan import split_timestamp
from genlib.stack import engine
from genlib.stack.engine import Stack
from genlib.stack.health import ServiceState
from genlib.workspace import Workspace

RESULTS_FILE = "swarm-results.json"


class SwarmStack(Stack):
    """The deployed stack, seen through the Stack interface the runner asks: states, logs, exec."""

    def __init__(self, ws: Workspace, found: list[swarm.Replicas]) -> None:
        super().__init__(ws)
        self.replicas = {r.service: r for r in found}

    def _containers(self, service: str) -> list[Any]:
        label = f"{swarm.SERVICE_LABEL}={swarm.stack_name(self.ws)}_{service}"
        with engine.docker_errors(f"list the containers of {service}"):
            return list(self._sdk().containers.list(filters={"label": label, "status": "running"}))

    def states(self) -> dict[str, ServiceState]:
        found = {}
        for name, r in self.replicas.items():
            if r.mode != "replicated":
                continue
            running = self._containers(name)
            state = "running" if r.running >= r.wanted else f"short of replicas ({r.running}/{r.wanted} running)"
            if r.problem and r.running < r.wanted:
                state += f": {r.problem}"
            found[name] = ServiceState(name, running[0].id if running else "", state, None, 0, 0)
        return found

    def container(self, service: str) -> Any:
        running = self._containers(service)
        return running[0] if running else None

    def log_lines(self, service: str, since: float | None = None) -> Iterator[tuple[str, str]]:
        """Every replica's log on this node (since `since`, seconds since the epoch), one after the other."""
        containers = self._containers(service)
        since_arg = {"since": since} if since is not None else {}
        with engine.docker_errors(f"read the logs of {service}"):
            chunks = (c.logs(stream=True, follow=False, timestamps=True, **since_arg) for c in containers)
            for line in engine.split_lines(itertools.chain.from_iterable(chunks)):
                yield split_timestamp(line)


def test(ws: Workspace, settings: Settings) -> RunReport:
    """Run test.yaml against the stack; record and return the report."""
    swarm.require_swarm()
    found = swarm.replicas(swarm.stack_name(ws))
    if not found:
        raise DeployError(f"stack {swarm.stack_name(ws)} is not deployed: run `doit deploy target=swarm`")
    host_ports = {r.service: r.ports[0] for r in found if r.ports}
    report = runner.run(ws, SwarmStack(ws, found), settings, host_ports=host_ports)
    kept = [r for r in report.results if r.kind not in ("build", "migrations")]  # the local stack's, not the swarm's
    jobs = [_job_result(r) for r in found if r.mode == "replicated-job"]
    iteration = releases.load(ws).iteration
    final = RunReport.of(iteration, datetime.now(UTC), report.duration_s, [*kept, *jobs])
    results.save(results_path(ws), final)
    return final


def results_path(ws: Workspace) -> Path:
    return ws.state_dir / RESULTS_FILE


def _job_result(r: swarm.Replicas) -> Result:
    done = r.running >= r.wanted
    return Result(
        name=f"job {r.service}",
        kind="migrations",
        service=r.service,
        origin="genlib",
        status="passed" if done else "failed",
        reason="completed" if done else f"not completed ({r.problem or 'still running'})",
        evidence=MigrationsEvidence(),  # what the job applied is in its log: `docker service logs`
    )
