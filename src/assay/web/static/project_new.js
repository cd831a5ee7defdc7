// Live preview of a project schema: the inputs and questions the annotation screen will show,
// or the schema's errors at their lines.  Everything is built with textContent (never innerHTML).
import { csrfToken } from "./csrf.js";

const area = document.getElementById("schema");
const out = document.getElementById("preview");
const status = document.getElementById("schema-status");

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function describe(q) {
  const bits = [q.kind];
  if (q.options) bits.push(q.options.join(" / "));
  if (q.labels) bits.push("labels: " + q.labels.join(", "));
  if (q.scale) bits.push(`${q.scale.min} … ${q.scale.max}`);
  if (q.required === false) bits.push("optional");
  if (q.show_if) bits.push("conditional");
  return bits.join(" · ");
}

function show(result) {
  out.replaceChildren();
  if (!result.ok) {
    status.textContent = result.error;
    status.className = "error";
    const list = el("ul", undefined, "schema-errors");
    for (const e of result.errors || []) {
      const where = e.line ? `line ${e.line}: ` : "";
      list.append(el("li", `${where}${e.loc ? e.loc + ": " : ""}${e.msg}`));
    }
    out.append(list);
    return;
  }
  status.textContent = `${result.inputs.length} inputs, ${result.questions.length} questions.`;
  status.className = "ok";
  out.append(el("h3", "Shown"));
  const inputs = el("ul");
  for (const i of result.inputs) inputs.append(el("li", `${i.name} (${i.kind})`));
  out.append(inputs, el("h3", "Asked"));
  const questions = el("ol");
  for (const q of result.questions) {
    const li = el("li");
    li.append(el("strong", q.name), document.createTextNode(" — " + describe(q)));
    if (q.help) li.append(el("div", q.help, "muted"));
    questions.append(li);
  }
  out.append(questions);
}

let timer = null;
let seq = 0;
async function refresh() {
  const mine = ++seq;
  try {
    const response = await fetch("/projects/new/preview", {
      method: "POST",
      headers: { "Content-Type": "text/plain", "X-CSRF-Token": csrfToken() },
      body: area.value,
      credentials: "same-origin",
    });
    const result = await response.json();
    if (mine === seq) show(result);
  } catch (err) {
    status.textContent = "The preview is unavailable: " + err;
  }
}

area.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(refresh, 250);
});
refresh();
