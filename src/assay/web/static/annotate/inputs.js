// What an item shows: text, Markdown, chat transcripts and model responses, built as inert DOM.
import { renderMarkdown } from "./markdown.js";

export const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function asText(value) {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return JSON.stringify(value, null, 2);
}

function chat(turns) {
  const list = el("ol", "chat");
  for (const turn of Array.isArray(turns) ? turns : []) {
    const role = turn && typeof turn.role === "string" ? turn.role : "unknown";
    const li = el("li", `turn turn-${/^[a-z]+$/.test(role) ? role : "unknown"}`);
    li.append(el("div", "turn-role", role));
    const body = el("div", "turn-content");
    // Assistant turns are model output, usually Markdown; people's turns are shown as typed.
    if (role === "assistant") {
      body.classList.add("md");
      body.append(renderMarkdown(asText(turn.content)));
    } else {
      body.classList.add("pre");
      body.textContent = asText(turn && turn.content);
    }
    li.append(body);
    list.append(li);
  }
  return list;
}

// Responses in the order the lease recorded (position bias is measured against it), lettered
// A, B, ... by position.  Model names are not shown: annotators judge the text only.
export function orderedResponses(responses, order) {
  const byId = new Map();
  for (const r of Array.isArray(responses) ? responses : []) {
    if (r && typeof r === "object") byId.set(String(r.id), r);
  }
  const ids = Array.isArray(order) && order.length ? order.map(String) : Array.from(byId.keys());
  const seen = new Set();
  const out = [];
  for (const id of ids.concat(Array.from(byId.keys()))) {
    if (seen.has(id) || !byId.has(id)) continue;
    seen.add(id);
    out.push({ id, letter: LETTERS[out.length % 26], content: byId.get(id).content });
  }
  return out;
}

function responsesView(shown) {
  const grid = el("div", `responses responses-${Math.min(shown.length, 4)}`);
  for (const r of shown) {
    const card = el("article", "response");
    card.dataset.responseId = r.id;
    card.dataset.letter = r.letter;
    const title = el("h3", "response-title", `Response ${r.letter}`);
    card.append(title);
    const body = el("div", "response-body md");
    body.append(renderMarkdown(asText(r.content)));
    card.append(body);
    card.setAttribute("aria-label", `Response ${r.letter}`);
    grid.append(card);
  }
  return grid;
}

// Build the inputs of one item.  Inputs that a spans question marks are left as an empty slot
// for the spans widget, which shows the same text with its highlights.
export function renderInputs({ inputs, data, displayOrder, spanTargets }) {
  const root = el("div", "inputs");
  const slots = {};
  const responses = {};
  for (const input of inputs) {
    const value = data ? data[input.name] : undefined;
    if (value === undefined || value === null) continue;
    const section = el("section", `input input-${input.kind}`);
    section.dataset.input = input.name;
    section.append(el("h2", "input-title", input.label || input.name));
    if (input.help) section.append(el("p", "help", input.help));
    if (spanTargets.has(input.name)) {
      const slot = el("div", "span-slot");
      slots[input.name] = slot;
      section.append(slot);
    } else if (input.kind === "markdown") {
      const body = el("div", "md input-body");
      body.append(renderMarkdown(asText(value)));
      section.append(body);
    } else if (input.kind === "chat") {
      section.append(chat(value));
    } else if (input.kind === "responses") {
      const shown = orderedResponses(value, displayOrder && displayOrder[input.name]);
      responses[input.name] = shown;
      section.append(responsesView(shown));
    } else {
      section.append(el("div", "pre input-body", asText(value)));
    }
    root.append(section);
  }
  return { root, slots, responses };
}
