"""Every error genlib raises on purpose, in one tree.

Each message is one line that says what went wrong and what to do next; the
top level (`genlib.commands.cli`, the doit reporter) prints it without a traceback.

Each class carries its exit code, read at the entry points (`tasks.doit_config`,
`commands.GenlibCommand`, `cli.main`), so `doit`, `doit gen` and `genlib` agree:
3 when the run could not start (a bad argument or setting, not a workspace, the
workspace busy), 2 for everything else (doit's "a task errored").

    GenlibError
    ├── WorkspaceError        bad HEAD, an iteration that does not exist, a damaged file
    │   └── WorkspaceUnavailable  not a workspace, or busy with another run (exit 3)
    ├── ConfigError           genlib.toml or a variable has a bad value (exit 3)
    ├── NothingToBisect       `doit bisect` on an empty history, or a scenario passing at HEAD (exit 3)
    ├── BisectError           the scenario never passed on HEAD's line, or an iteration could not be tested
    ├── OutputError           llm_output.json (or a model answer) is malformed or unsafe
    │   └── PatchRejected     a heal patch breaks a rule (outside the layers, weakens a user test)
    ├── HandEditConflict      regenerating would overwrite a file a person edited
    ├── RegistryError         registry.yaml cannot be read or built
    ├── ScenarioError         test.yaml is malformed or names an unknown service
    ├── TemplateError         a Jinja template fails to render
    ├── LLMError              talking to the model failed
    │   ├── LLMUnavailable    the model server is not reachable
    │   ├── ModelMissing      the model is not pulled (Ollama) or not served (OpenAI-compatible)
    │   ├── ModelInstallFailed  a catalogue model could not be fetched, or its bytes are not the catalogue's
    │   ├── LLMAuthFailed     the server refused the API key (401/403)
    │   ├── LLMRateLimited    still rate-limited (429) after the bounded waits
    │   ├── LLMTimeout        no answer in time
    │   └── AnswerInvalid     still malformed after the retries
    ├── MigrationError        a database cannot read or keep genlib's record of its migrations
    │   └── MigrationChanged  a migration already applied was edited (a new file is the way)
    ├── CommandFailed         an external command exited non-zero
    ├── BrowserError          Chromium (via playwright) failed; page checks turn it into a result
    │   └── BrowserTimeout    it did not happen within the scenario's timeout
    ├── DeployError           a release or deployment cannot go ahead: HEAD not green, no swarm, a registry
    │                         refusing a push, a stack that does not converge, a manifest the schema refuses
    └── DockerError           the engine or Compose failed
        ├── DockerUnavailable no daemon answers
        ├── ImageMissing      a base image is absent and cannot be pulled
        └── ComposeFailed     `compose` rejected the file or could not start the stack
"""

from __future__ import annotations


class GenlibError(Exception):
    """Base of every error genlib reports to a person."""

    exit_code = 2  # doit's "a task errored"


class WorkspaceError(GenlibError):
    pass


class WorkspaceUnavailable(WorkspaceError):
    exit_code = 3  # the run could not start


class ConfigError(GenlibError):
    exit_code = 3  # a bad argument or setting: doit's "bad usage"


class NothingToBisect(GenlibError):
    exit_code = 3  # the bisect could not start


class BisectError(GenlibError):
    pass


class OutputError(GenlibError):
    pass


class PatchRejected(OutputError):
    pass


class HandEditConflict(GenlibError):
    pass


class RegistryError(GenlibError):
    pass


class ScenarioError(GenlibError):
    pass


class TemplateError(GenlibError):
    pass


class LLMError(GenlibError):
    pass


class LLMUnavailable(LLMError):
    pass


class ModelMissing(LLMError):
    pass


class ModelInstallFailed(LLMError):
    pass


class LLMAuthFailed(LLMError):
    pass


class LLMRateLimited(LLMError):
    pass


class LLMTimeout(LLMError):
    pass


class AnswerInvalid(LLMError):
    pass


class MigrationError(GenlibError):
    pass


class MigrationChanged(MigrationError):
    pass


class CommandFailed(GenlibError):
    def __init__(self, message: str, returncode: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.output = output


class DockerError(GenlibError):
    pass


class DeployError(GenlibError):
    pass


class DockerUnavailable(DockerError):
    pass


class ImageMissing(DockerError):
    pass


class ComposeFailed(DockerError):
    pass


class BrowserError(GenlibError):
    """playwright's Error, translated in browser.playwright_errors: the message's first line, and `full` (all of it
    on one line, for a browser that would not start)."""

    def __init__(self, message: str, full: str = "") -> None:
        super().__init__(message)
        self.full = full or message


class BrowserTimeout(BrowserError):
    pass
