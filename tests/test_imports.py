"""A program importing a package its component installs nothing for is refused on arrival (genlib.answer.imports)."""

from __future__ import annotations

import pytest

from genlib.answer import imports, rules
from genlib.documents.llm_output import Answer, ComponentSpec, FileSpec
from genlib.errors import OutputError

FLASK_APP = "from flask import Flask\nimport json\n\napp = Flask(__name__)\n"


def test_python_package_without_requirements_is_refused() -> None:
    with pytest.raises(OutputError, match=r"api/x/app.py imports flask, .* api/x has no requirements.txt"):
        imports.check("api/x/app.py", FLASK_APP, {"api/x/app.py"}, "python")


def test_python_package_with_requirements_is_left_to_the_build() -> None:
    imports.check("api/x/app.py", FLASK_APP, {"api/x/app.py", "api/x/requirements.txt"}, "python")


@pytest.mark.parametrize(
    "source",
    [
        "import json, os.path\nfrom http.server import HTTPServer\nfrom __future__ import annotations\n",
        "from . import models\nfrom .db import connect\n",  # relative: the component's own
        "import helpers\nfrom store.memory import Store\n",  # the component's own files
        "try:\n    import ujson as json\nexcept ImportError:\n    import json\n",  # optional
    ],
    ids=["stdlib", "relative", "own-files", "optional"],
)
def test_python_imports_that_need_nothing_installed_pass(source: str) -> None:
    files = {"api/x/app.py", "api/x/helpers.py", "api/x/store/memory.py", "api/x/store/__init__.py"}
    imports.check("api/x/app.py", source, files, "python")


def test_python_import_inside_a_function_counts() -> None:
    source = "def connect():\n    import psycopg\n    return psycopg.connect()\n"
    with pytest.raises(OutputError, match="imports psycopg"):
        imports.check("workers/w/main.py", source, {"workers/w/main.py"}, "python")


@pytest.mark.parametrize(
    ("source", "package"),
    [
        ("const express = require('express');\n", "express"),
        ('import express from "express";\n', "express"),
        ("import { Pool } from 'pg';\n", "pg"),
        ('const c = require("@redis/client/dist");\n', "@redis/client"),
        ("export { x } from 'lodash';\n", "lodash"),
    ],
)
def test_node_package_without_package_json_is_refused(source: str, package: str) -> None:
    with pytest.raises(OutputError, match=rf"imports {package}, .* no package.json"):
        imports.check("api/x/server.js", source, {"api/x/server.js"}, "node")
    imports.check("api/x/server.js", source, {"api/x/server.js", "api/x/package.json"}, "node")


def test_node_builtins_relative_paths_and_comments_pass() -> None:
    source = (
        "const http = require('http');\nconst fs = require('node:fs/promises');\n"
        "const routes = require('./routes');\nimport path from 'path';\n"
        "// const express = require('express');  (not used)\n"
    )
    imports.check("api/x/server.js", source, {"api/x/server.js", "api/x/routes.js"}, "node")


def test_a_page_script_and_other_files_are_not_programs() -> None:
    imports.check("frontend/web/app.js", "import x from 'vue';\n", {"frontend/web/app.js"}, "static")
    imports.check("api/x/README.md", "import flask\n", {"api/x/README.md"}, "python")


def test_rules_refuse_the_file_in_a_whole_answer() -> None:
    component = ComponentSpec(
        name="x", layer="api", runtime="python", port=8000, command=["python3", "app.py"], health="/health"
    )
    answer = Answer(components=[component], files=[FileSpec(path="api/x/app.py", content=FLASK_APP)])
    limits = rules.Limits()
    with pytest.raises(OutputError, match="imports flask"):
        rules.check(answer, rules.Baseline(), limits)
    with_requirements = answer.model_copy(
        update={"files": [*answer.files, FileSpec(path="api/x/requirements.txt", content="flask==3.0.3\n")]}
    )
    rules.check(with_requirements, rules.Baseline(), limits)


def test_the_imports_a_python_file_forgot_are_added_when_certain() -> None:
    """The 0.5B dropped its starter's first lines, imports and all, three times running."""
    starter = '"""A server."""\n\nimport json\nfrom urllib.parse import parse_qsl, urlparse\n\nPORT = 1\n'
    sent = "def answer(raw):\n    return json.loads(raw), parse_qsl(raw), os.environ\n"
    fixed = imports.completed(sent, starter)
    assert fixed.splitlines()[:3] == ["import json", "from urllib.parse import parse_qsl", "import os"]
    compile(fixed, "app.py", "exec")
    docstring = '"""d"""\nfrom __future__ import annotations\nimport sys\n\nprint(os.getcwd(), sys)\n'
    assert imports.completed(docstring).splitlines()[3] == "import os"  # after the imports that are there
    assert imports.completed("print(helper())\n") == "print(helper())\n"  # not certain: left for the rule
    assert imports.completed("import os\nprint(os.sep)\n") == "import os\nprint(os.sep)\n"  # nothing missing
