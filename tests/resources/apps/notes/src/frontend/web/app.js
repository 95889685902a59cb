// Browser code runs on the person's machine, where the api is published on a host port genlib assigns:
// the page learns the api's address from its query string (?notes-api=http://127.0.0.1:<port>).
const api = new URLSearchParams(location.search).get("notes-api") || "http://127.0.0.1:3000";
const list = document.getElementById("notes");

function show(note) {
  const li = document.createElement("li");
  li.textContent = note.text;
  list.appendChild(li);
}

fetch(`${api}/notes`)
  .then((r) => r.json())
  .then((notes) => notes.forEach(show));

document.getElementById("add").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = document.getElementById("text").value;
  // a plain-text body keeps this a simple cross-origin request (no CORS preflight)
  fetch(`${api}/notes`, { method: "POST", body: JSON.stringify({ text }) })
    .then((r) => r.json())
    .then(show);
});
