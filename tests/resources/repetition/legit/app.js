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
    const li = document.createElement("li");
    li.className = item.done ? "item done" : "item";
    li.dataset.id = item.id;

    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = item.done;
    box.addEventListener("change", () => toggle(item));

    const label = document.createElement("span");
    label.textContent = item.text;

    const badge = document.createElement("span");
    badge.className = "tag";
    badge.textContent = item.tag || "";

    const remove = document.createElement("button");
    remove.className = "danger";
    remove.textContent = "Delete";
    remove.addEventListener("click", () => removeItem(item));

    li.append(box, label, badge, remove);
    list.appendChild(li);
  }
}

async function load() {
  try {
    render(await request("GET", "/items"));
    showError("");
  } catch (err) {
    showError(`Could not load the list (${err.message}).`);
  }
}

async function toggle(item) {
  try {
    await request("PATCH", `/items/${item.id}`, { done: !item.done });
    await load();
  } catch (err) {
    showError(`Could not update "${item.text}" (${err.message}).`);
  }
}

async function removeItem(item) {
  try {
    await request("DELETE", `/items/${item.id}`);
    await load();
  } catch (err) {
    showError(`Could not delete "${item.text}" (${err.message}).`);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = text.value.trim();
  if (!value) {
    showError("Type an item first.");
    return;
  }
  try {
    await request("POST", "/items", { text: value, tag: tag.value });
    text.value = "";
    await load();
  } catch (err) {
    showError(`Could not add "${value}" (${err.message}).`);
  }
});

load();
