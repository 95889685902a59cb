"""Takes note ids from the Redis list `jobs` and marks each note processed in Postgres."""

import os

import psycopg
import redis

queue = redis.Redis.from_url(os.environ["REDIS_URL"])
print("worker waiting for jobs", flush=True)
while True:
    _, raw = queue.blpop(["jobs"])
    note_id = int(raw)
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("UPDATE notes SET processed = true WHERE id = %s", (note_id,))
    print(f"processed note {note_id}", flush=True)
