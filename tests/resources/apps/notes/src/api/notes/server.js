// A tiny notes API on node's own http module (no packages needed offline).
const http = require("http");
const port = Number(process.env.PORT || 3000);
const notes = [{ id: 1, text: "hello" }];

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" });
  res.end(JSON.stringify(body));
}

http
  .createServer((req, res) => {
    if (req.url === "/health") return send(res, 200, { status: "ok" });
    if (req.url === "/notes" && req.method === "GET") return send(res, 200, notes);
    if (req.url === "/notes" && req.method === "POST") {
      let data = "";
      req.on("data", (chunk) => (data += chunk));
      req.on("end", () => {
        let note;
        try { note = JSON.parse(data || "{}"); } catch { return send(res, 400, { error: "invalid JSON" }); }
        if (typeof note.text !== "string" || !note.text) return send(res, 400, { error: "text is required" });
        const saved = { id: notes.length + 1, text: note.text };
        notes.push(saved);
        return send(res, 201, saved);
      });
      return;
    }
    send(res, 404, { error: "not found" });
  })
  .listen(port, () => console.log(`notes api listening on ${port}`));
