// The notes page, served by Express; /api/notes reads the notes API inside the stack.
const express = require("express");

const app = express();
const api = process.env.NOTES_API_URL;

app.get("/health", (req, res) => res.json({ status: "ok" }));

app.get("/api/notes", async (req, res) => {
  try {
    const answer = await fetch(`${api}/notes`);
    res.status(answer.status).json(await answer.json());
  } catch (err) {
    console.log(`notes api unreachable: ${err.message}`);
    res.status(502).json({ error: "notes api unreachable" });
  }
});

app.get("/", (req, res) => {
  res.type("html").send("<!doctype html><title>Notes</title><h1>Notes</h1><ul id=notes></ul>" +
    "<script>fetch('api/notes').then(r => r.json()).then(ns => { for (const n of ns) {" +
    " const li = document.createElement('li'); li.textContent = n.text; notes.append(li); } });</script>");
});

const port = Number(process.env.PORT || 3000);
app.listen(port, "0.0.0.0", () => console.log(`web listening on ${port}`));
