// Browser code runs on the person's machine, where the api answers on a host port genlib assigns:
// genlib-env.js (loaded first by index.html) maps each service to its address there.
const api = window.GENLIB_SERVICES["notes-api"];
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
