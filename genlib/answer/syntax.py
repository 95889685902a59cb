"""Cheap syntax checks for a file as it arrives from the model: python, JavaScript, JSON.

    Syntax()            one checker per gen run; close() it (or use it as a context manager)
    .check(path, text)  raises OutputError naming the file, the line and the error; other files pass

JavaScript is compiled by one long-lived node process (`vm.Script` on the CommonJS wrapper, what
`node --check` does), since starting node per file cost ~1 s a file on a busy machine; ES modules
(.mjs) still go through `node --check`. Without node on PATH JavaScript is not checked: the
check is a courtesy, the tests decide.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from types import TracebackType

from genlib import process
from genlib.answer import imports
from genlib.errors import CommandFailed, OutputError

_COMPILER = r"""
const vm = require("vm"), { wrap } = require("module");
require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
  let answer = { ok: true };
  try {
    new vm.Script(wrap(JSON.parse(line).replace(/^#!/, "//")), { filename: "file.js" });
  } catch (e) {
    const where = /file\.js:(\d+)/.exec(String(e.stack));
    answer = { ok: false, error: `${e.name}: ${e.message}`, line: where ? Number(where[1]) : null };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
"""


class Syntax:
    def __init__(self) -> None:
        self._node = shutil.which("node")
        self._compiler: subprocess.Popen[str] | None = None

    def __enter__(self) -> Syntax:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        compiler, self._compiler = self._compiler, None
        if compiler is not None:
            compiler.kill()
            with compiler:  # closes its pipes and reaps it
                pass

    def check(self, path: str, content: str) -> None:
        suffix = Path(path).suffix
        if suffix == ".py":
            _python(path, content)
        elif suffix == ".json":
            try:
                json.loads(content)
            except json.JSONDecodeError as exc:
                raise OutputError(f"{path} is not valid JSON: {exc}") from exc
        elif suffix in (".js", ".cjs") and self._node:
            self._javascript(path, content)
        elif suffix == ".mjs" and self._node:
            _module(path, content, self._node)

    def _javascript(self, path: str, content: str) -> None:
        compiler = self._start()
        assert compiler.stdin is not None and compiler.stdout is not None  # both are pipes
        try:
            compiler.stdin.write(json.dumps(content) + "\n")
            compiler.stdin.flush()
            answer = json.loads(compiler.stdout.readline())
        except (OSError, ValueError):
            self.close()  # node went away: this file goes unchecked, the next one starts it again
            return
        if not answer["ok"]:
            where = f" line {answer['line']}" if answer.get("line") else ""
            raise OutputError(f"{path}{where}: JavaScript syntax error: {answer['error']}")

    def _start(self) -> subprocess.Popen[str]:
        if self._compiler is None or self._compiler.poll() is not None:
            self._compiler = subprocess.Popen(
                [str(self._node), "-e", _COMPILER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
            )
        return self._compiler


def _python(path: str, content: str) -> None:
    """Compiled, not only parsed: `await` outside an async function, `return` outside a function, a duplicate
    argument parse fine and fail only when Python compiles the module, i.e. when the container starts. Then no
    name is used that nothing defines (pyflakes): the 0.5B dropped its starter's imports, and the file compiled
    and died at start with "NameError: name 'os' is not defined"."""
    try:
        with warnings.catch_warnings():  # an invalid escape is a warning, not a reason to refuse the file
            warnings.simplefilter("ignore")
            compile(content, path, "exec", dont_inherit=True)
            tree = ast.parse(content, filename=path)
    except SyntaxError as exc:
        raise OutputError(f"{path} line {exc.lineno}: python syntax error: {exc.msg}") from exc
    undefined = imports.undefined(tree)
    if undefined:
        first = undefined[0]
        names = ", ".join(dict.fromkeys(str(m.message_args[0]) for m in undefined))
        raise OutputError(f"{path} line {first.lineno}: undefined name(s) {names}: import or define them")


def _module(path: str, content: str, node: str) -> None:
    with tempfile.TemporaryDirectory(prefix="genlib-check-") as folder:
        source = Path(folder) / "file.mjs"
        source.write_text(content, encoding="utf-8")
        try:
            code, output = process.run([node, "--check", str(source)], check=False, timeout=30)
        except CommandFailed:
            return
    if code != 0:
        error = next((x for x in output.splitlines() if "Error" in x), "syntax error")
        raise OutputError(f"{path}: node --check: {error}")
