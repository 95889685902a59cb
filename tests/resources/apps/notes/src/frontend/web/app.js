// The API is published on the host; the page reads its address from config.js when present.
const api = window.NOTES_API || "http://127.0.0.1:3000";
fetch(`${api}/notes`)
  .then((r) => r.json())
  .then((notes) => {
    const list = document.getElementById("notes");
    for (const n of notes) {
      const li = document.createElement("li");
      li.textContent = n.text;
      list.appendChild(li);
    }
  });
