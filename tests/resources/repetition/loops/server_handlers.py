"""The notes API on Python's http.server: JSON in, JSON out, notes kept in memory."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOTES: dict[int, dict] = {}
NEXT_ID = 1


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, payload=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length))
        except json.JSONDecodeError:
            return None

    def _note_id(self):
        parts = self.path.rstrip("/").split("/")
        if len(parts) == 3 and parts[1] == "notes" and parts[2].isdigit():
            return int(parts[2])
        return None

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok"})
            return
        if self.path == "/notes":
            self._send(200, sorted(NOTES.values(), key=lambda n: n["id"]))
            return
        note_id = self._note_id()
        if note_id is None:
            self._send(404, {"error": "not found"})
            return
        note = NOTES.get(note_id)
        if note is None:
            self._send(404, {"error": f"note {note_id} not found"})
            return
        self._send(200, note)

    def do_POST(self):
        global NEXT_ID
        if self.path != "/notes":
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        text = str(data.get("text", "")).strip()
        if not text:
            self._send(400, {"error": "text is required"})
            return
        note = {"id": NEXT_ID, "text": text, "done": False}
        NOTES[NEXT_ID] = note
        NEXT_ID += 1
        self._send(201, note)

    def do_PUT(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        text = str(data.get("text", "")).strip()
        if not text:
            self._send(400, {"error": "text is required"})
            return
        NOTES[note_id] = {"id": note_id, "text": text, "done": bool(data.get("done", False))}
        self._send(200, NOTES[note_id])

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

    def do_PATCH(self):
        note_id = self._note_id()
        if note_id is None or note_id not in NOTES:
            self._send(404, {"error": "not found"})
            return
        data = self._read_json()
        if data is None:
            self._send(400, {"error": "body is not JSON"})
            return
        note = NOTES[note_id]
        if "text" in data:
            note["text"] = str(data["text"]).strip()
        if "done" in data:
            note["done"] = bool(data["done"])
        self._send(200, note)

    def do_OPTIONS(self):
        self._send(204)

