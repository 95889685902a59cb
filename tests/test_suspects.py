"""Which services and files a failure implicates (genlib/model/suspects.py), on registries built by hand."""

from __future__ import annotations

from genlib.app.registry import Entry, FileEntry
from genlib.documents.llm_output import Layer
from genlib.model import suspects

IT = "iter_001_shop"
SOURCES: dict[str, str] = {}
HOST_PORTS = {"orders-api": 18001, "stock-backend": 18002, "web-frontend": 18003}  # as .genlib/ports.json


def comp(
    layer: Layer, name: str, files: dict[str, str], service: str, command: list[str] | None = None, **deps: list[str]
) -> Entry:
    SOURCES.update({f"{layer}/{name}/{rel}": text for rel, text in files.items()})
    listed = [FileEntry(path=f"{layer}/{name}/{rel}", iteration=IT, sha256="") for rel in files]
    return Entry(
        name=name, layer=layer, runtime="python", description="", sha256="", files=listed, service=service,
        command=command, **deps,
    )  # fmt: skip


ORDERS = comp(
    "api",
    "orders",
    {
        "app.py": "from orders import store\nfrom orders.pricing import total\n\ndef handler(o):\n    return total(o)",
        "orders/__init__.py": "",
        "orders/store.py": "ROWS = []\n" * 40,
        "orders/pricing.py": "from orders.tax import rate\n\ndef total(o):\n    return o['price'] * rate()\n" * 3,
        "orders/tax.py": "def rate():\n    return 1.2\n",
        "orders/util/__init__.py": "",
        "README.md": "# orders\n" * 5,
    },
    service="orders-api",
    command=["python3", "app.py"],
    depends_on=["stock-backend"],
)
STOCK = comp(
    "backend",
    "stock",
    {"server.js": "const db = require('./lib/db');\n", "lib/db.js": "module.exports = {}\n"},
    service="stock-backend",
    command=["node", "server.js"],
)
MAILER = comp(
    "workers", "mailer", {"worker.py": "print('mail')\n"}, service="mailer-workers", command=["python3", "worker.py"]
)
WEB = comp("frontend", "web", {"index.html": "<h1>shop</h1>\n"}, service="web-frontend")
COMPONENTS = [ORDERS, STOCK, MAILER, WEB]


def read(iteration: str, path: str) -> str | None:
    return SOURCES.get(path)


def ranked(texts: dict[str, str], involved: list[str] | None = None, changed: str | None = None) -> list[str]:
    found = suspects.rank(COMPONENTS, involved or list(texts), texts, changed, read)
    return [f"{s.path}:{s.score}" for s in found]


KEY_ERROR = (
    "Traceback (most recent call last):\n"
    '  File "/app/app.py", line 5, in handler\n'
    "    return total(o)\n"
    '  File "/app/orders/pricing.py", line 4, in total\n'
    "KeyError: 'price'\n"
)


def test_traceback_files_first_then_their_imports_not_empty_init_files() -> None:
    order = ranked({"orders-api": KEY_ERROR})
    assert order[:2] == ["api/orders/orders/pricing.py:6", "api/orders/app.py:6"]
    assert order[2:4] == ["api/orders/orders/store.py:4", "api/orders/orders/tax.py:4"]  # imported by them
    assert order.index("api/orders/orders/__init__.py:1") > order.index("api/orders/README.md:1")  # empty: last


def test_python_and_node_frames_are_found() -> None:
    text = 'File "/app/worker.py", line 12, in digest\n  at handler (/app/lib/db.js:3:9)\n'
    assert suspects.traceback_files(text) == {"/app/worker.py": 12, "/app/lib/db.js": 3}


def test_a_file_named_in_a_log_line_is_a_suspect() -> None:
    order = ranked({"stock-backend": "Error: Cannot find module './lib/db'\nRequire stack:\n- /app/server.js"})
    assert set(order[:2]) == {"backend/stock/lib/db.js:5", "backend/stock/server.js:5"}
    order = ranked({"stock-backend": "Error: Cannot find module './lib/db'"})
    assert order[:2] == ["backend/stock/lib/db.js:5", "backend/stock/server.js:4"]  # it requires the named file


def test_python_module_named_in_an_import_error() -> None:
    order = ranked({"orders-api": "ModuleNotFoundError: No module named 'orders.tax'"})
    assert order[0] == "api/orders/orders/tax.py:5"


def test_a_missing_package_makes_the_dependency_file_a_suspect() -> None:
    """The fix of `No module named 'redis'` is a line in requirements.txt, the smallest file of the component."""
    big = "def route(x):\n    return x\n\n" * 300
    files = {"app.py": "import redis\n" + big, "routes.py": big, "requirements.txt": "flask==3.0.3\n"}
    api = comp("api", "items", files, service="items-api", command=["python3", "app.py"])
    web = comp("frontend", "page", {"server.js": "require('express');\n" + big, "package.json": '{"name": "page"}'},
               service="page-frontend", command=["node", "server.js"])  # fmt: skip
    for service, error, dependency_file in [
        ("items-api", "File \"/app/app.py\", line 1\nModuleNotFoundError: No module named 'redis'", "requirements.txt"),
        ("page-frontend", "Error: Cannot find module 'express'\nRequire stack:", "package.json"),
        ("page-frontend", "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from", "package.json"),
    ]:
        order = [s.rel for s in suspects.rank([api, web], [service], {service: error}, None, read)]
        assert order.index(dependency_file) < order.index("routes.py" if service == "items-api" else "server.js")
    local = suspects.rank([api], ["items-api"], {"items-api": "Cannot find module './routes'"}, None, read)
    assert next(s for s in local if s.rel == "requirements.txt").score < suspects.NAMED  # a file of its own


def test_files_changed_by_the_last_iteration_come_before_the_rest() -> None:
    patched = STOCK.model_copy(
        update={"files": [FileEntry(path="backend/stock/lib/db.js", iteration="iter_002_patch", sha256="")]}
    )
    found = suspects.rank([ORDERS, patched], ["orders-api"], {"orders-api": "status 500"}, "iter_002_patch", read)
    assert found[0].path == "backend/stock/lib/db.js"


def test_files_the_bisected_iteration_changed_are_prime_suspects() -> None:
    """`doit bisect` found the iteration that broke the scenario: its files outrank what a patch last touched."""
    patched = STOCK.model_copy(
        update={"files": [FileEntry(path="backend/stock/lib/db.js", iteration="iter_002_patch", sha256="")]}
    )
    prime = {"api/orders/orders/tax.py"}
    found = suspects.rank(
        [ORDERS, patched], ["orders-api"], {"orders-api": "status 500"}, "iter_002_patch", read, prime
    )
    assert found[0].path == "api/orders/orders/tax.py" and found[0].score == suspects.NAMED
    assert found[1].path == "api/orders/orders/pricing.py" and found[1].score == suspects.NEIGHBOUR  # imports it
    assert found[2].path == "backend/stock/lib/db.js"


def test_involved_services_follow_depends_on_and_addresses_in_the_evidence() -> None:
    text = "GET /orders: status 502; upstream http://127.0.0.1:18003/ refused; mailer-workers queue full"
    assert suspects.involved_services(COMPONENTS, ["orders-api"], text, HOST_PORTS) == [
        "orders-api",
        "stock-backend",
        "mailer-workers",
        "web-frontend",
    ]
    assert suspects.involved_services(COMPONENTS, ["web-frontend"], "ok", HOST_PORTS) == ["web-frontend"]


def test_imports_resolve_within_the_component() -> None:
    peers = {"app.py", "orders/__init__.py", "orders/store.py", "orders/pricing.py", "orders/tax.py", "helpers.py"}
    source = "import helpers\nfrom orders import store\nfrom .tax import rate\nimport json\n"
    assert suspects.imported("orders/pricing.py", source, peers) == {
        "helpers.py",
        "orders/__init__.py",
        "orders/store.py",
        "orders/tax.py",
    }
    assert suspects.imported("app.py", source, peers) == {"helpers.py", "orders/__init__.py", "orders/store.py"}
    js = "const a = require('./lib/db');\nimport b from '../util.js';\nconst c = require('express');\n"
    assert suspects.imported("routes/x.js", js, {"routes/lib/db.js", "util.js", "lib/db.js"}) == {
        "routes/lib/db.js",
        "util.js",
    }
