// Shared pieces of the question widgets: the fieldset frame, key labels, radio-style groups.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function kbd(key) {
  return el("kbd", "key", key);
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// The frame every question sits in: a fieldset whose legend is the question, with its help text
// and a slot for the problem the server or the required check reports.
export function frame(question, kindClass) {
  const box = el("fieldset", `question ${kindClass}`);
  box.dataset.question = question.name;
  box.tabIndex = -1;
  const legend = el("legend", "question-title");
  legend.append(el("span", "question-name", question.label || question.name));
  if (question.required === false) legend.append(el("span", "optional", " (optional)"));
  box.append(legend);
  const helpId = nextId("help");
  if (question.help) {
    const help = el("p", "help", question.help);
    help.id = helpId;
    box.setAttribute("aria-describedby", helpId);
    box.append(help);
  }
  const problem = el("p", "problem");
  problem.id = nextId("problem");
  problem.setAttribute("role", "alert");
  problem.hidden = true;
  box.append(problem);
  return { box, problem };
}

// Keys for the n-th choice when the schema names none: 1-9, 0, then a-z.
export function defaultKeys(count) {
  const keys = [];
  const pool = "1234567890abcdefghijklmnopqrstuvwxyz";
  for (let i = 0; i < count; i += 1) keys.push(i < pool.length ? pool[i] : null);
  return keys;
}

export function matchKey(event, keys) {
  if (event.ctrlKey || event.metaKey || event.altKey) return -1;
  const key = event.key.length === 1 ? event.key.toLowerCase() : null;
  if (key === null) return -1;
  return keys.findIndex((k) => k !== null && k.toLowerCase() === key);
}

// A group of radio buttons or checkboxes drawn as buttons, each with its key shown.
// `items` is [{value, text, key, title?}]; returns the group element and its inputs.
export function optionGroup({ name, items, multiple, describedBy, className }) {
  const group = el("div", `options ${className || ""}`.trim());
  group.setAttribute("role", multiple ? "group" : "radiogroup");
  const inputs = [];
  for (const item of items) {
    const label = el("label", "option");
    const input = el("input");
    input.type = multiple ? "checkbox" : "radio";
    input.name = name;
    input.className = "option-input";
    input.value = String(inputs.length);
    if (describedBy) input.setAttribute("aria-describedby", describedBy);
    label.append(input);
    if (item.key) label.append(kbd(item.key));
    label.append(el("span", "option-text", item.text));
    if (item.title) label.title = item.title;
    if (item.side) label.classList.add(`side-${item.side}`);
    group.append(label);
    inputs.push(input);
  }
  return { group, inputs };
}

// What every question widget shares: its name, its box, and how it shows and clears a problem.
export function base(question, box, problem) {
  return {
    name: question.name,
    question,
    box,
    autoAdvance: false,
    showProblem(msg) {
      problem.textContent = msg;
      problem.hidden = false;
      box.classList.add("has-problem");
    },
    clearProblem() {
      problem.textContent = "";
      problem.hidden = true;
      box.classList.remove("has-problem");
    },
  };
}
