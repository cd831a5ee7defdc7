// The review pages by keyboard: J/K move between answers, A accepts, R goes to the reject reason
// (Enter there rejects), F opens the fix, N/P turn the page.  After a verdict the page reloads
// with the next answer still waiting for review in focus.
//
// A fix is made with the annotation screen's own widgets, built from the schema on the page and
// set to the answer under review.  Saving sends the widgets' values; a fix the server refuses
// keeps everything on screen and says why, next to the questions it names.
import { createWidget } from "./annotate/questions.js";
import { orderedResponses } from "./annotate/inputs.js";

const page = document.getElementById("review");

function parsed(text, fallback) {
  try {
    const value = JSON.parse(text);
    return value === null || value === undefined ? fallback : value;
  } catch (err) {
    return fallback;
  }
}

const schema = page ? parsed(page.dataset.reviewSchema, null) : null;
const built = new WeakMap(); // fix <details> → its widgets

function buildFix(details) {
  if (built.has(details) || !schema) return built.get(details) || [];
  const holder = details.querySelector(".fix-widgets");
  const data = parsed(holder.dataset.item, {});
  const answers = parsed(holder.dataset.answers, {});
  const order = parsed(holder.dataset.order, {});
  const responses = {};
  for (const input of schema.inputs) {
    if (input.kind === "responses") responses[input.name] = orderedResponses(data[input.name], order[input.name]);
  }
  const ctx = { data, responses, slots: {}, onChange: (name) => clearProblem(widgets, name) };
  const widgets = schema.questions.map((q) => createWidget(q, ctx));
  holder.replaceChildren(...widgets.map((w) => w.box));
  for (const widget of widgets) if (widget.name in answers) widget.set(answers[widget.name]);
  built.set(details, widgets);
  details.querySelector(".fix-form").addEventListener("submit", (event) => saveFix(event, details, widgets));
  return widgets;
}

function clearProblem(widgets, name) {
  const widget = widgets.find((w) => w.name === name);
  if (widget) widget.clearProblem();
}

async function saveFix(event, details, widgets) {
  event.preventDefault();
  const form = event.target;
  const answers = {};
  for (const widget of widgets) {
    const value = widget.value();
    if (value !== undefined) answers[widget.name] = value;
  }
  form.elements.answers.value = JSON.stringify(answers);
  const problem = form.querySelector(".fix-problem");
  problem.hidden = true;
  for (const widget of widgets) widget.clearProblem();
  let response;
  try {
    response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
  } catch (err) {
    problem.textContent = "Not saved: the server could not be reached. Your fix is still here; save again.";
    problem.hidden = false;
    return;
  }
  if (response.ok && response.redirected) {
    window.location.assign(response.url);
    return;
  }
  // The page's error is the server's sentence and, per question, its problems (error.html).
  const html = new DOMParser().parseFromString(await response.text(), "text/html");
  const message = html.querySelector("[role=alert]");
  problem.textContent = `Not saved: ${message ? message.textContent.trim() : `the server answered ${response.status}`}. Your fix is still here.`;
  problem.hidden = false;
  for (const line of html.querySelectorAll("p.error")) {
    const text = line.textContent;
    const where = text.split(":")[0].split(/[^\w]+/);
    const widget = widgets.find((w) => where.includes(w.name));
    if (widget) widget.showProblem(text.slice(text.indexOf(":") + 1).trim());
  }
  problem.focus();
}

for (const details of document.querySelectorAll("details.fix")) {
  details.addEventListener("toggle", () => {
    if (details.open) buildFix(details);
  });
}
const cards = () => Array.from(document.querySelectorAll("article.answer"));

function isTyping(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  return target.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "hidden");
}

function focusCard(card) {
  if (!card) return;
  card.focus();
  card.scrollIntoView({ block: "nearest" });
}

function current() {
  const active = document.activeElement;
  return active && active.closest ? active.closest("article.answer") : null;
}

function step(direction) {
  const list = cards();
  if (!list.length) return;
  const at = list.indexOf(current());
  const next = at < 0 ? (direction > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, at + direction));
  focusCard(list[next]);
}

function act(key) {
  const card = current();
  if (!card) return false;
  const hook = card.querySelector(`[data-key="${key}"]`);
  if (!hook) return false;
  if (key === "a") hook.closest("form").requestSubmit(hook);
  else if (key === "r") hook.focus();
  else if (key === "f") {
    hook.open = true;
    buildFix(hook);
    const first = (built.get(hook) || [])[0];
    if (first) first.focus();
  }
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing) return;
  // Inside a fix, keys belong to its widgets (option keys, ranking places), as on the annotation screen.
  const fix = event.target.closest && event.target.closest("details.fix");
  if (fix && !isTyping(event.target)) {
    const widget = (built.get(fix) || []).find((w) => w.box.contains(event.target));
    if (widget && widget.onKey(event)) event.preventDefault();
    if (event.key === "Escape") {
      event.preventDefault();
      fix.open = false;
      const card = current();
      if (card) card.focus();
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) {
    if (event.key === "Escape") {
      event.preventDefault();
      const card = current();
      if (card) card.focus();
    }
    return;
  }
  const key = event.key.toLowerCase();
  if (key === "j" || key === "k") {
    event.preventDefault();
    step(key === "j" ? 1 : -1);
  } else if (key === "a" || key === "r" || key === "f") {
    if (act(key)) event.preventDefault();
  } else if (key === "n" || key === "p") {
    const link = document.querySelector(`.pager a[data-key="${key}"]`);
    if (link) {
      event.preventDefault();
      link.click();
    }
  }
});

// After a verdict (…?done=accept-12) or on arrival: the first answer still waiting has focus.
const waiting = cards().find((card) => card.dataset.pending === "true");
if (waiting && !document.querySelector(":focus")) focusCard(waiting);
