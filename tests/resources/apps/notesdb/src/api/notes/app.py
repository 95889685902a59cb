"""Notes in Postgres (psycopg); each new note is queued for the worker on Redis."""

import os

import psycopg
import redis
from flask import Flask, jsonify, request

app = Flask(__name__)
queue = redis.Redis.from_url(os.environ["REDIS_URL"])


def db() -> psycopg.Connection:
    return psycopg.connect(os.environ["DATABASE_URL"])


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/notes")
def list_notes():
    with db() as conn:
        rows = conn.execute("SELECT id, text, processed FROM notes ORDER BY id").fetchall()
    return jsonify([{"id": i, "text": t, "processed": p} for i, t, p in rows])


@app.post("/notes")
def add_note():
    text = (request.get_json(force=True, silent=True) or {}).get("text")
    if not text:
        return jsonify(error="text is required"), 400
    with db() as conn:
        (note_id,) = conn.execute("INSERT INTO notes (text) VALUES (%s) RETURNING id", (text,)).fetchone()
    queue.rpush("jobs", note_id)
    return jsonify(id=note_id, text=text), 201


if __name__ == "__main__":
    print("notes api listening", flush=True)
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
