# ruff: noqa: E501  (app sources as data: long lines read better whole)
"""Broken apps for heal, each with one bug, and a scripted model that fixes it only when the heal prompt
carries what a competent engineer needs: the culprit file's path and current content, and the failing lines.

    APPS                     the apps (python and node; frontend, api, backend, workers; bugs at startup,
                             in requests, pages and logs; one of 38 files)
    llm_output(app)          the broken app as a gen iteration's llm_output.json
    Fixer(app).respond(body) the scripted model's answer to one /api/chat request

Used by bench/heal_effectiveness.py (every app, on the real engine) and tests/test_heal_apps.py (a few).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# -- app skeletons -----------------------------------------------------------------------------------

PY_SERVER = '''"""{doc}"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
{imports}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        print(f"{{self.command}} {{self.path}}", flush=True)

    def send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.send(200, {{"status": "ok"}})
{routes}
        return self.send(404, {{"error": "not found"}})


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"listening on {{port}}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
'''

NODE_SERVER = """// {doc}
const http = require("http");
{requires}
const port = Number(process.env.PORT || 3000);

function send(res, status, body) {{
  res.writeHead(status, {{ "Content-Type": "application/json" }});
  res.end(JSON.stringify(body));
}}

http
  .createServer((req, res) => {{
    try {{
      if (req.url === "/health") return send(res, 200, {{ status: "ok" }});
{routes}
      return send(res, 404, {{ error: "not found" }});
    }} catch (err) {{
      console.error(err.stack);
      return send(res, 500, {{ error: String(err.message) }});
    }}
  }})
  .listen({listen}, () => console.log(`listening on ${{{listen}}}`));
"""


def py_server(doc: str, imports: str, routes: str) -> str:
    return PY_SERVER.format(doc=doc, imports=imports, routes=routes)


def node_server(doc: str, requires: str, routes: str, listen: str = "port") -> str:
    return NODE_SERVER.format(doc=doc, requires=requires, routes=routes, listen=listen)


def py_get(path: str, call: str) -> str:
    return f'        if self.path == "{path}":\n            return self.send(200, {call})\n'


def node_get(path: str, call: str) -> str:
    return f'      if (req.url === "{path}") return send(res, 200, {call});\n'


def api(name: str, runtime: str, port: int, layer: str = "api", **extra: Any) -> dict[str, Any]:
    command = ["python3", "app.py"] if runtime == "python" else ["node", "server.js"]
    return {"name": name, "layer": layer, "runtime": runtime, "port": port, "command": command, "health": "/health",
            "description": extra.pop("description", f"the {name} {layer}"), **extra}  # fmt: skip


def worker(name: str, runtime: str, entry: str, **extra: Any) -> dict[str, Any]:
    command = ["python3", entry] if runtime == "python" else ["node", entry]
    return {"name": name, "layer": "workers", "runtime": runtime, "command": command,
            "description": extra.pop("description", f"the {name} worker"), **extra}  # fmt: skip


def http(name: str, service: str, path: str, **expect: Any) -> dict[str, Any]:
    return {"name": name, "kind": "http", "service": service, "request": {"path": path},
            "expect": {"status": 200, **expect}}  # fmt: skip


def logs(name: str, service: str, must_contain: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "logs", "service": service, "must_contain": must_contain, **extra}


@dataclass
class BrokenApp:
    name: str
    kind: str  # the class of bug: startup, request, page, logs, upstream, ...
    components: list[dict[str, Any]]
    files: dict[str, str]  # the working app
    scenarios: list[dict[str, Any]]
    culprit: str  # the file holding the bug
    good: str  # the line(s) as they should be …
    bad: str  # … and as they are
    failing: str  # a piece of the failing lines the prompt must carry
    notes: list[str] = field(default_factory=list)

    def broken_files(self) -> dict[str, str]:
        text = self.files[self.culprit]
        assert self.good in text, f"{self.name}: {self.good!r} not in {self.culprit}"
        return {**self.files, self.culprit: text.replace(self.good, self.bad, 1)}

    @property
    def runtimes(self) -> set[str]:
        return {c["runtime"] for c in self.components}


def llm_output(app: BrokenApp) -> dict[str, Any]:
    return {
        "format": "genlib.llm_output/1",
        "kind": "gen",
        "description": f"broken app {app.name}",
        "created": "2026-11-27T00:00:00Z",
        "raw": "(hand-written broken app)",
        "answer": {
            "summary": f"broken app {app.name}",
            "components": app.components,
            "files": [{"path": p, "content": c} for p, c in sorted(app.broken_files().items())],
            "deletions": [],
            "scenarios": app.scenarios,
        },
    }


# -- the scripted model ------------------------------------------------------------------------------

_SHOWN = re.compile(r"^### (\S+)(?: \(cut to fit[^\n]*)?\n```\n", re.MULTILINE)


class Fixer:
    """Answers the fix when the prompt holds the culprit's path, its buggy line and the failing lines;
    otherwise it does what a model without the evidence does: a harmless edit of the first file shown."""

    def __init__(self, app: BrokenApp) -> None:
        self.app = app
        self.tries = 0
        self.prompts: list[str] = []
        self.fixed_at: int | None = None
        self.current = app.broken_files()  # what the app holds now, as this model's answers changed it

    def sees_the_cause(self, prompt: str) -> bool:
        app = self.app
        shown = _SHOWN.findall(prompt)
        return app.culprit in shown and app.bad in prompt and app.failing in prompt

    def respond(self, body: dict[str, Any]) -> str:
        prompt = body["messages"][0]["content"]
        if len(body["messages"]) == 1:
            self.prompts.append(prompt)
        if self.sees_the_cause(prompt):
            self.fixed_at = self.fixed_at or len(self.prompts)
            self.current[self.app.culprit] = self.app.files[self.app.culprit]
            fix = {"path": self.app.culprit, "content": self.current[self.app.culprit]}
            return json.dumps({"summary": f"fix {self.app.culprit}", "files": [fix]})
        self.tries += 1
        shown = [path for path in _SHOWN.findall(prompt) if not path.endswith(".json")]  # JSON takes no comment
        target = shown[0] if shown else self.app.culprit
        self.current[target] = self.current.get(target, "") + _comment(target, self.tries)
        return json.dumps({"summary": "a guess", "files": [{"path": target, "content": self.current[target]}]})


def _comment(path: str, n: int) -> str:
    if path.endswith((".py", ".txt")):  # requirements.txt too: `#` keeps it valid
        return f"\n# checked {n}\n"
    if path.endswith(".sql"):
        return f"\n-- checked {n}\n"
    if path.endswith(".html"):
        return f"\n<!-- checked {n} -->\n"
    return f"\n// checked {n}\n"


# -- the apps ----------------------------------------------------------------------------------------

CATALOG = 'ITEMS = [{"name": "pen", "price": 2, "qty": 2}, {"name": "ink", "price": 3, "qty": 1}]\n'


def _py_keyerror() -> BrokenApp:
    files = {
        "api/shop/app.py": py_server(
            "The shop API.", "from pricing import total", py_get("/total", '{"total": total()}')
        ),
        "api/shop/pricing.py": 'from catalog import ITEMS\n\n\ndef total():\n    return sum(i["price"] * i["qty"] for i in ITEMS)\n',
        "api/shop/catalog.py": CATALOG,
    }
    return BrokenApp("py-request-keyerror", "request (python traceback)", [api("shop", "python", 8000)], files,
                     [http("cart total", "shop-api", "/total", json={"total": 7})],
                     "api/shop/pricing.py", 'i["price"]', 'i["cost"]', "KeyError: 'cost'")  # fmt: skip


def _py_import() -> BrokenApp:
    files = {
        "api/blog/app.py": py_server(
            "The blog API.", "from text import slugify", py_get("/slug", '{"slug": slugify("Hello World")}')
        ),
        "api/blog/text.py": 'def slugify(title):\n    return "-".join(title.lower().split())\n',
    }
    return BrokenApp("py-startup-import", "startup (import error)", [api("blog", "python", 8000)], files,
                     [http("slug", "blog-api", "/slug", json={"slug": "hello-world"})],
                     "api/blog/text.py", "def slugify(", "def slugfy(", "cannot import name 'slugify'")  # fmt: skip


def _py_syntax() -> BrokenApp:
    files = {
        "backend/users/app.py": py_server(
            "The users backend.", "from models import User", py_get("/users", '[User("ada").to_dict()]')
        ),
        "backend/users/models.py": 'class User:\n    def __init__(self, name):\n        self.name = name\n\n    def to_dict(self):\n        return {"name": self.name}\n',
    }
    return BrokenApp("py-startup-syntax", "startup (syntax error)", [api("users", "python", 8000, layer="backend")], files,
                     [http("users", "users-backend", "/users", body_contains=["ada"])],
                     "backend/users/models.py", "def to_dict(self):", "def to_dict(self)", "SyntaxError")  # fmt: skip


def _py_env() -> BrokenApp:
    files = {
        "api/notes/app.py": py_server("The notes API.", "import config", py_get("/db", '{"db": config.DB_URL}')),
        "api/notes/config.py": 'import os\n\nDB_URL = os.environ.get("DB_URL", "sqlite:///notes.db")\n',
    }
    return BrokenApp("py-startup-env", "startup (KeyError of an env var)", [api("notes", "python", 8000)], files,
                     [http("db configured", "notes-api", "/db", body_contains=["sqlite"])],
                     "api/notes/config.py", 'os.environ.get("DB_URL", "sqlite:///notes.db")', 'os.environ["DB_URL"]',
                     "KeyError: 'DB_URL'")  # fmt: skip


def _node_typeerror() -> BrokenApp:
    files = {
        "api/todo/server.js": node_server(
            "The todo API.",
            'const notes = require("./routes/notes");\nconst store = require("./lib/store");',
            node_get("/todos", "notes.list(store)"),
        ),
        "api/todo/routes/notes.js": "exports.list = (store) => store.items.map((t) => ({ title: t }));\n",
        "api/todo/lib/store.js": 'exports.items = ["milk", "bread"];\n',
    }
    return BrokenApp("node-request-typeerror", "request (node stack)", [api("todo", "node", 3000)], files,
                     [http("todos", "todo-api", "/todos", body_contains=["milk"])],
                     "api/todo/routes/notes.js", "store.items.map", "store.item.map", "reading 'map'")  # fmt: skip


def _node_missing_module() -> BrokenApp:
    files = {
        "api/kv/server.js": node_server(
            "The key-value API.", 'const store = require("./lib/store");', node_get("/keys", "store.keys()")
        ),
        "api/kv/lib/store.js": "const data = { a: 1, b: 2 };\nexports.keys = () => Object.keys(data);\n",
    }
    return BrokenApp("node-startup-missing-module", "startup (node require)", [api("kv", "node", 3000)], files,
                     [http("keys", "kv-api", "/keys", body_contains=["a"])],
                     "api/kv/server.js", 'require("./lib/store")', 'require("./lib/stor")', "Cannot find module './lib/stor'")  # fmt: skip


def _node_status() -> BrokenApp:
    files = {
        "backend/stock/server.js": node_server(
            "The stock backend.",
            'const handlers = require("./lib/handlers");',
            '      if (req.url === "/stock") return send(res, ...handlers.stock());\n',
        ),
        "backend/stock/lib/handlers.js": "exports.stock = () => [200, { pens: 4 }];\n",
    }
    return BrokenApp("node-request-status", "request (wrong status, no crash)", [api("stock", "node", 3000, layer="backend")],
                     files, [http("stock", "stock-backend", "/stock", json={"pens": 4})],
                     "backend/stock/lib/handlers.js", "[200, { pens: 4 }]", "[201, { pens: 4 }]", "status 201, expected 200")  # fmt: skip


def _py_worker_crash() -> BrokenApp:
    files = {
        "workers/jobs/worker.py": 'import time\n\nfrom jobs import run\n\nif __name__ == "__main__":\n    print("worker up", flush=True)\n'
        '    time.sleep(2)\n    for n in range(1, 1000):\n        print(f"job done: {run(n)}", flush=True)\n        time.sleep(1)\n',
        "workers/jobs/jobs.py": "def run(n):\n    return 10 / n\n",
    }
    return BrokenApp("py-worker-crash-later", "worker dies after the first check", [worker("jobs", "python", "worker.py")],
                     files, [logs("jobs run", "jobs-workers", ["job done"])],
                     "workers/jobs/jobs.py", "10 / n", "10 / (n - 1)", "ZeroDivisionError")  # fmt: skip


def _py_worker_log_error() -> BrokenApp:
    files = {
        "workers/digest/worker.py": 'import logging\nimport time\n\nfrom schedule import parse\n\nlogging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")\n\n'
        'if __name__ == "__main__":\n    every = parse("every 5s")\n    if every is None:\n        logging.error("could not parse the schedule %r; using 1s", "every 5s")\n        every = 1\n'
        '    for n in range(6000):\n        print(f"tick {n}")\n    while True:\n        print("digest sent", flush=True)\n        time.sleep(every)\n',
        "workers/digest/schedule.py": 'import re\n\n\ndef parse(text):\n    m = re.fullmatch(r"every (\\d+)s", text)\n    return int(m.group(1)) if m else None\n',
    }
    return BrokenApp("py-worker-log-error", "logs (ERROR 6,000 lines up)", [worker("digest", "python", "worker.py")], files,
                     [logs("digest runs clean", "digest-workers", ["digest sent"])],
                     "workers/digest/schedule.py", r'r"every (\d+)s"', r'r"each (\d+)s"', "could not parse the schedule")  # fmt: skip


def _node_worker_stack() -> BrokenApp:
    files = {
        "workers/mailer/worker.js": 'const config = require("./lib/config");\nconsole.log("mailer up");\nsetInterval(() => {\n'
        "  try {\n    const cfg = config.parse({ interval: 5 });\n    console.log(`mail sent every ${cfg.interval}s`);\n"
        "  } catch (err) {\n    console.error(err.stack);\n  }\n}, 1000);\n",
        "workers/mailer/lib/config.js": 'exports.parse = (raw) => {\n  if (raw.interval === undefined) throw new Error("missing interval");\n  return { interval: raw.interval };\n};\n',
    }
    return BrokenApp("node-worker-stack", "logs (node Error with at-frames)", [worker("mailer", "node", "worker.js")], files,
                     [logs("mail goes out", "mailer-workers", ["mail sent"], must_not_contain=["Error"])],
                     "workers/mailer/lib/config.js", "raw.interval === undefined", "raw.intervals === undefined",
                     "missing interval")  # fmt: skip


def _static_page() -> BrokenApp:
    files = {
        "frontend/site/index.html": '<!doctype html>\n<html><head><title>Dashboard</title><script src="app.js"></script></head>\n<body><h1>Dashboard</h1></body></html>\n',
        "frontend/site/app.js": 'document.title = "Dashboard";\n',
    }
    comp = {"name": "site", "layer": "frontend", "runtime": "static", "description": "the dashboard page"}
    return BrokenApp("static-page-content", "page (content missing)", [comp], files,
                     [http("dashboard page", "site-frontend", "/", body_contains=["<h1>Dashboard</h1>"])],
                     "frontend/site/index.html", "<h1>Dashboard</h1>", "<h1>Dashbord</h1>", "body lacks")  # fmt: skip


def _upstream_py() -> BrokenApp:
    files = {
        "api/orders/app.py": py_server(
            "The orders API; stock comes from stock-backend.",
            "import urllib.request\nimport urllib.error",
            '        if self.path == "/orders":\n            try:\n                with urllib.request.urlopen("http://stock-backend:8001/stock", timeout=3) as r:\n'
            "                    stock = json.load(r)\n            except urllib.error.HTTPError as exc:\n"
            '                return self.send(502, {"error": f"stock-backend answered {exc.code}"})\n'
            '            return self.send(200, {"orders": [], "stock": stock})\n',
        ),
        "backend/stock/app.py": py_server(
            "The stock backend.",
            "from inventory import levels",
            '        if self.path == "/stock":\n            try:\n                return self.send(200, levels())\n'
            "            except Exception:\n                import traceback\n                traceback.print_exc()\n"
            '                return self.send(500, {"error": "internal"})\n',
        ),
        "backend/stock/inventory.py": 'ROWS = [{"sku": "pen", "n": 4}]\n\n\ndef levels():\n    return {r["sku"]: r["n"] for r in ROWS}\n',
    }
    comps = [api("orders", "python", 8000, depends_on=["stock"]), api("stock", "python", 8001, layer="backend")]
    return BrokenApp("upstream-python", "upstream (the dependency's traceback)", comps, files,
                     [http("orders", "orders-api", "/orders", body_contains=["pen"])],
                     "backend/stock/inventory.py", 'r["sku"]', 'r["id"]', "KeyError: 'id'")  # fmt: skip


def _upstream_node() -> BrokenApp:
    files = {
        "api/quotes/server.js": node_server(
            "The quotes API; prices come from rates-backend.",
            "",
            '      if (req.url === "/quote") {\n        http.get("http://rates-backend:8002/rate", (r) => {\n'
            '          let body = "";\n          r.on("data", (c) => (body += c));\n'
            '          r.on("end", () => (r.statusCode === 200 ? send(res, 200, { quote: JSON.parse(body).rate * 10 })\n'
            "            : send(res, 502, { error: `rates-backend answered ${r.statusCode}` })));\n"
            '        }).on("error", (e) => send(res, 502, { error: e.message }));\n        return;\n      }\n',
        ),
        "backend/rates/app.py": py_server(
            "The rates backend.",
            "from rates import current",
            '        if self.path == "/rate":\n            try:\n                return self.send(200, {"rate": current()})\n'
            "            except Exception:\n                import traceback\n                traceback.print_exc()\n"
            '                return self.send(500, {"error": "internal"})\n',
        ),
        "backend/rates/rates.py": "BASE = 12\nSPLIT = 4\n\n\ndef current():\n    return BASE / SPLIT\n",
    }
    comps = [api("quotes", "node", 3000, depends_on=["rates"]), api("rates", "python", 8002, layer="backend")]
    return BrokenApp("upstream-node-to-python", "upstream (node api, python backend)", comps, files,
                     [http("quote", "quotes-api", "/quote", json={"quote": 30})],
                     "backend/rates/rates.py", "SPLIT = 4", "SPLIT = 0", "ZeroDivisionError")  # fmt: skip


def _node_exec() -> BrokenApp:
    files = {
        "backend/calc/server.js": node_server(
            "The calculator backend.",
            'const math = require("./lib/math");',
            node_get("/add", "{ sum: math.add(2, 3) }"),
        ),
        "backend/calc/lib/math.js": "exports.add = (a, b) => a + b;\n",
    }
    check = {"name": "math adds", "kind": "exec", "service": "calc-backend",
             "command": ["node", "-e", "process.exit(require('./lib/math').add(2, 3) === 5 ? 0 : 1)"]}  # fmt: skip
    return BrokenApp("node-exec-check", "exec (a command's exit code)", [api("calc", "node", 3000, layer="backend")], files,
                     [check], "backend/calc/lib/math.js", "a + b", "a - b", "exit code 1, expected 0")  # fmt: skip


def _py_json_field() -> BrokenApp:
    files = {
        "api/report/app.py": py_server("The report API.", "from summary import build", py_get("/summary", "build()")),
        "api/report/summary.py": 'SALES = [3, 4]\n\n\ndef build():\n    return {"total": sum(SALES), "n": len(SALES)}\n',
    }
    return BrokenApp("py-json-field", "request (wrong JSON, no crash)", [api("report", "python", 8000)], files,
                     [http("summary", "report-api", "/summary", json={"total": 7})],
                     "api/report/summary.py", '"total": sum(SALES)', '"count": sum(SALES)', "json total: missing")  # fmt: skip


def _node_post() -> BrokenApp:
    files = {
        "api/items/server.js": node_server(
            "The items API.",
            'const { validate } = require("./lib/validate");',
            '      if (req.url === "/items" && req.method === "POST") {\n        let data = "";\n'
            '        req.on("data", (c) => (data += c));\n'
            '        req.on("end", () => (validate(JSON.parse(data || "{}")) ? send(res, 201, { ok: true }) : send(res, 400, { error: "name required" })));\n'
            "        return;\n      }\n",
        ),
        "api/items/lib/validate.js": 'exports.validate = (item) => typeof item.name === "string" && item.name.length > 0;\n',
    }
    post = {"name": "empty item refused", "kind": "http", "service": "items-api",
            "request": {"method": "POST", "path": "/items", "json": {}}, "expect": {"status": 400}}  # fmt: skip
    return BrokenApp("node-post-validation", "request (validation)", [api("items", "node", 3000)], files, [post],
                     "api/items/lib/validate.js", '(item) => typeof item.name === "string" && item.name.length > 0', "(item) => true",
                     "status 201, expected 400")  # fmt: skip


def _node_wrong_port() -> BrokenApp:
    files = {
        "api/ping/server.js": node_server(
            "The ping API.",
            'const config = require("./config");',
            node_get("/ping", "{ pong: true }"),
            listen="config.port",
        ),
        "api/ping/config.js": "exports.port = Number(process.env.PORT || 3000);\n",
    }
    return BrokenApp("node-never-healthy", "startup (listens on the wrong port)", [api("ping", "node", 3000)], files,
                     [http("ping", "ping-api", "/ping", json={"pong": True})],
                     "api/ping/config.js", "exports.port = Number(process.env.PORT || 3000)", "exports.port = 3001",
                     "listening on 3001")  # fmt: skip


def _large() -> BrokenApp:
    """38 files: a python API in packages (empty __init__.py files, many modules), a page and a worker."""
    files: dict[str, str] = {}
    base = "api/shop"
    for pkg in ("shop", "shop/routes", "shop/services", "shop/models", "shop/util"):
        files[f"{base}/{pkg}/__init__.py"] = ""
    for n in range(14):
        files[f"{base}/shop/util/helper{n}.py"] = "".join(
            f"def h{n}_{k}(x):\n    return x + {k}\n\n\n" for k in range(12)
        )
    for n in range(6):
        files[f"{base}/shop/models/model{n}.py"] = f"class Model{n}:\n    fields = {list(range(20))!r}\n\n" * 4
    for name in ("users", "carts", "search", "admin"):
        files[f"{base}/shop/routes/{name}.py"] = f"def handle():\n    return {{'route': '{name}'}}\n"
    files[f"{base}/shop/routes/invoices.py"] = (
        "from shop.services.billing import invoice_total\n\n\ndef handle():\n    return {'total': invoice_total()}\n"
    )
    files[f"{base}/shop/services/billing.py"] = (
        "from shop.services.ledger import ENTRIES\n\n\ndef invoice_total():\n    return sum(e['amount'] for e in ENTRIES)\n"
    )
    files[f"{base}/shop/services/ledger.py"] = "ENTRIES = [{'amount': 5}, {'amount': 6}]\n"
    files[f"{base}/shop/services/tax.py"] = "RATE = 0.2\n" + "\n".join(f"# rule {n}" for n in range(80)) + "\n"
    files[f"{base}/app.py"] = py_server(
        "The shop API (38-file app).",
        "import traceback\nfrom shop.routes import admin, carts, invoices, search, users",
        '        routes = {"/users": users, "/carts": carts, "/search": search, "/admin": admin, "/invoices": invoices}\n'
        "        if self.path in routes:\n            try:\n                return self.send(200, routes[self.path].handle())\n"
        '            except Exception:\n                traceback.print_exc()\n                return self.send(500, {"error": "internal"})\n',
    )
    files["frontend/web/index.html"] = "<!doctype html>\n<title>Shop</title>\n<h1>Shop</h1>\n"
    files["frontend/web/app.js"] = 'fetch("/invoices").then((r) => r.json());\n'
    files["workers/mail/worker.py"] = (
        "import time\n\nwhile True:\n    print('mail tick', flush=True)\n    time.sleep(5)\n"
    )
    files["workers/mail/templates.py"] = "WELCOME = 'hello'\n"
    comps = [
        api("shop", "python", 8000),
        {
            "name": "web",
            "layer": "frontend",
            "runtime": "static",
            "description": "the shop page",
            "depends_on": ["shop"],
        },
        worker("mail", "python", "worker.py"),
    ]
    assert len(files) == 38, len(files)
    return BrokenApp("large-38-files", "request, deep in a 38-file app", comps, files,
                     [http("invoices", "shop-api", "/invoices", json={"total": 11}), http("users", "shop-api", "/users")],
                     f"{base}/shop/services/billing.py", "e['amount']", "e['sum']", "KeyError: 'sum'")  # fmt: skip


# -- real apps: dependencies, a database, and the mistakes models make with them --------------------

# The notes API's set (tests/resources/apps/notesdb): an image other tests build too, so it is built once.
PSYCOPG_SET = "flask==3.0.3\npsycopg[binary]==3.2.3\nredis==5.0.8\n"
DB = {"name": "db", "layer": "backend", "runtime": "postgres", "description": "the database"}
SCHEMA = "CREATE TABLE tasks (id serial PRIMARY KEY, title text NOT NULL);\nINSERT INTO tasks (title) VALUES ('write'), ('test');\n"


def _tasks_api(route: str, database_url: str = 'os.environ["DATABASE_URL"]') -> str:
    return py_server("The tasks API, in Postgres.", f"import psycopg\n\nDSN = {database_url}",
                     "        if self.path == \"/tasks\":\n            with psycopg.connect(DSN) as conn:\n"
                     f"                rows = conn.execute({route!r}).fetchall()\n"
                     "            return self.send(200, [list(r) for r in rows])\n")  # fmt: skip


def _py_loopback() -> BrokenApp:
    files = {"api/hello/app.py": py_server("The hello API.", "", py_get("/hello", '{"hello": "world"}'))}
    return BrokenApp("py-loopback-only", "startup (listens on 127.0.0.1 only)", [api("hello", "python", 8000)], files,
                     [http("hello", "hello-api", "/hello", json={"hello": "world"})],
                     "api/hello/app.py", '("0.0.0.0", port)', '("127.0.0.1", port)', "listens on 127.0.0.1:8000 (loopback) only")  # fmt: skip


def _py_missing_package() -> BrokenApp:
    files = {
        "api/quotes/app.py": py_server("The quotes API.", "import six", py_get("/version", '{"six": six.__version__}')),
        "api/quotes/requirements.txt": "six==1.16.0\n",  # the deps fixture's set: built once for both
    }
    return BrokenApp("py-missing-package", "dependencies (an import requirements.txt lacks)", [api("quotes", "python", 8000)],
                     files, [http("six installed", "quotes-api", "/version", json={"six": "1.16.0"})],
                     "api/quotes/requirements.txt", "six==1.16.0\n", "# nothing beyond the standard library\n",
                     "No module named 'six'")  # fmt: skip


def _py_wrong_env_name() -> BrokenApp:
    files = {
        "api/tasks/app.py": _tasks_api("SELECT id, title FROM tasks ORDER BY id"),
        "api/tasks/requirements.txt": PSYCOPG_SET,
        "backend/db/001_schema.sql": SCHEMA,
    }
    comps = [DB, api("tasks", "python", 8000, depends_on=["db"])]
    return BrokenApp("py-wrong-env-name", "data (reads a variable genlib does not set)", comps, files,
                     [http("tasks listed", "tasks-api", "/tasks", body_contains=["write"])],
                     "api/tasks/app.py", 'os.environ["DATABASE_URL"]', 'os.environ["POSTGRES_URL"]', "KeyError: 'POSTGRES_URL'")  # fmt: skip


def _sql_migration_fails() -> BrokenApp:
    files = {
        "api/tasks/app.py": _tasks_api("SELECT id, title, done FROM tasks ORDER BY id"),
        "api/tasks/requirements.txt": PSYCOPG_SET,
        "backend/db/001_schema.sql": SCHEMA,
        "backend/db/002_add_done.sql": "ALTER TABLE tasks ADD COLUMN done boolean NOT NULL DEFAULT false;\n",
    }
    comps = [DB, api("tasks", "python", 8000, depends_on=["db"])]
    return BrokenApp("sql-migration-fails", "data (a migration psql refuses)", comps, files,
                     [http("tasks listed", "tasks-api", "/tasks", body_contains=["write"])],
                     "backend/db/002_add_done.sql", "done boolean", "done boolen", 'type "boolen" does not exist')  # fmt: skip


APPS: list[BrokenApp] = [
    _py_keyerror(),
    _py_import(),
    _py_syntax(),
    _py_env(),
    _node_typeerror(),
    _node_missing_module(),
    _node_status(),
    _py_worker_crash(),
    _py_worker_log_error(),
    _node_worker_stack(),
    _static_page(),
    _upstream_py(),
    _upstream_node(),
    _node_exec(),
    _py_json_field(),
    _node_post(),
    _node_wrong_port(),
    _large(),
    _py_loopback(),
    _py_missing_package(),
    _py_wrong_env_name(),
    _sql_migration_fails(),
]
BY_NAME = {app.name: app for app in APPS}
