// The shopping list page: loads the items, adds, ticks and deletes them through the API.
const API = window.GENLIB_SERVICES["list-api"];

const form = document.querySelector("#add");
const text = document.querySelector("#text");
const tag = document.querySelector("#tag");
const list = document.querySelector("#items");
const error = document.querySelector("#error");

function showError(message) {
  error.textContent = message;
  error.hidden = !message;
}

async function request(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`${API}${path}`, options);
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status}`);
  }
  return response.status === 204 ? null : response.json();
}

function render(items) {
  list.innerHTML = "";
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "Nothing on the list yet.";
    list.appendChild(li);
    return;
  }
  for (const item of items) {
    const li = document.createElement("li"  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
  console.log("loaded");
