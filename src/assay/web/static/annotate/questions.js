// One widget per question kind.  A widget owns its fieldset and answers `value()` in exactly the
// shape the server checks (src/assay/domain/answers.py); `undefined` means "not answered".
import { base, defaultKeys, el, frame, kbd, matchKey, nextId, optionGroup } from "./widgets.js";
import { spansWidget } from "./spans.js";
import { chatWidget } from "./chat.js";

// Radio-like single value from a list of {value, text, key}: choice, rating, preference.
function single(question, kindClass, items, onChange, extra) {
  const { box, problem } = frame(question, kindClass);
  if (extra) box.append(extra);
  const { group, inputs } = optionGroup({
    name: nextId(`q-${question.name}`),
    items,
    multiple: false,
    className: `options-${kindClass}`,
  });
  box.append(group);
  for (const input of inputs) input.addEventListener("change", () => onChange(question.name));
  const keys = items.map((item) => item.key);
  const widget = base(question, box, problem);
  widget.autoAdvance = true;
  widget.value = () => {
    const i = inputs.findIndex((input) => input.checked);
    return i < 0 ? undefined : items[i].value;
  };
  widget.set = (value) => {
    inputs.forEach((input, i) => {
      input.checked = value !== undefined && items[i].value === value;
    });
  };
  widget.focus = () => (inputs.find((input) => input.checked) || inputs[0]).focus();
  widget.onKey = (event) => {
    const i = matchKey(event, keys);
    if (i < 0) return false;
    inputs[i].checked = true;
    inputs[i].focus();
    onChange(question.name, "key");
    return true;
  };
  return widget;
}

function choice(question, ctx) {
  const keys = question.hotkeys || defaultKeys(question.options.length);
  const items = question.options.map((option, i) => ({ value: option, text: option, key: keys[i] }));
  return single(question, "choice", items, ctx.onChange);
}

function multiChoice(question, ctx) {
  const { box, problem } = frame(question, "multi-choice");
  const keys = question.hotkeys || defaultKeys(question.options.length);
  const items = question.options.map((option, i) => ({ text: option, key: keys[i] }));
  const { group, inputs } = optionGroup({ name: nextId(`q-${question.name}`), items, multiple: true });
  box.append(group);
  for (const input of inputs) input.addEventListener("change", () => ctx.onChange(question.name));
  const widget = base(question, box, problem);
  widget.value = () => {
    const picked = question.options.filter((_, i) => inputs[i].checked);
    return picked.length || question.required === false ? picked : undefined;
  };
  widget.set = (value) => {
    const chosen = new Set(Array.isArray(value) ? value : []);
    question.options.forEach((option, i) => {
      inputs[i].checked = chosen.has(option);
    });
  };
  widget.focus = () => inputs[0].focus();
  widget.onKey = (event) => {
    const i = matchKey(event, keys);
    if (i < 0) return false;
    inputs[i].checked = !inputs[i].checked;
    inputs[i].focus();
    ctx.onChange(question.name, "key");
    return true;
  };
  return widget;
}

function range(low, high) {
  const out = [];
  for (let v = low; v <= high; v += 1) out.push(v);
  return out;
}

// Keys for scale points: the digit itself when every point is one (1..5, 0..9), else 1-9 and 0
// by position, else none (the arrow keys of the radio group still work).
function scaleKeys(values) {
  if (values.every((v) => v >= 0 && v <= 9)) return values.map(String);
  if (values.length <= 10) return values.map((_, i) => String((i + 1) % 10));
  return values.map(() => null);
}

function pointLabel(labels, value) {
  if (!labels) return null;
  return labels[value] ?? labels[String(value)] ?? null;
}

function rating(question, ctx) {
  const values = range(question.scale.min, question.scale.max);
  const keys = scaleKeys(values);
  const items = values.map((value, i) => {
    const label = pointLabel(question.labels, value);
    return { value, text: label ? `${value} ${label}` : String(value), key: keys[i] };
  });
  return single(question, "rating", items, ctx.onChange);
}

const STRENGTH = { 1: ["better"], 2: ["slightly better", "much better"], 3: ["slightly better", "better", "much better"] };

function strengthWord(k, max) {
  const words = STRENGTH[max];
  return words ? words[k - 1] : `better by ${k}`;
}

// A vs B as shown: the scale runs from "left much better" to "right much better", and each point
// is converted to the stored sign (negative prefers responses[0] as stored, whatever its place).
function preference(question, ctx) {
  const stored = Array.isArray(ctx.data[question.input]) ? ctx.data[question.input] : [];
  const shown = ctx.responses[question.input] || [];
  const first = String(stored[0] && stored[0].id);
  const second = String(stored[1] && stored[1].id);
  const letterOf = (id) => (shown.find((r) => r.id === id) || { letter: "?" }).letter;
  const position = (id) => shown.findIndex((r) => r.id === id);
  const firstOnLeft = position(first) <= position(second);
  const max = question.scale.max;
  const leftId = firstOnLeft ? first : second;
  const rightId = firstOnLeft ? second : first;
  // Values from the left end to the right end of the displayed scale.
  const values = firstOnLeft ? range(-max, max) : range(-max, max).reverse();
  const keys = values.length <= 9 ? values.map((_, i) => String(i + 1)) : values.map(() => null);
  const items = values.map((value, i) => {
    const label = pointLabel(question.labels, value);
    let text;
    let side = "tie";
    if (value === 0) text = "Tie";
    else {
      const favoured = value < 0 ? first : second;
      side = favoured === leftId ? "left" : "right";
      text = `${letterOf(favoured)} ${strengthWord(Math.abs(value), max)}`;
    }
    return { value, text: label || text, key: keys[i], side };
  });
  const ends = el("p", "scale-ends");
  ends.append(
    el("span", "end-left", `← Response ${letterOf(leftId)} better`),
    el("span", "end-right", `Response ${letterOf(rightId)} better →`),
  );
  const widget = single(question, "preference", items, ctx.onChange, ends);
  widget.box.dataset.left = leftId;
  widget.box.dataset.right = rightId;
  return widget;
}

function ordinal(n) {
  return n === 1 ? "1st" : n === 2 ? "2nd" : n === 3 ? "3rd" : `${n}th`;
}

// Ranking: buckets 1..N (ties share a bucket); a response moves by drag and drop, or by pressing a
// bucket's number while the response has focus.  Empty buckets are dropped from the answer.
function ranking(question, ctx) {
  const { box, problem } = frame(question, "ranking");
  const shown = ctx.responses[question.input] || [];
  const n = shown.length;
  const place = new Map(shown.map((r) => [r.id, 0])); // 0 = not ranked yet
  const board = el("div", "rank-board");
  const zones = [];
  const chips = new Map();
  box.append(
    el(
      "p",
      "hint",
      `Focus a response and press 1–${Math.min(n, 9)} for its place (equal numbers tie), 0 to unrank; or drag it, or click it and then its place.`,
    ),
  );
  let picked = null; // the chip clicked, waiting for a click on its place (no drag on touch screens)
  for (let rank = 0; rank <= n; rank += 1) {
    const zone = el("div", rank === 0 ? "rank-zone unranked" : "rank-zone");
    zone.dataset.rank = String(rank);
    const title = el("div", "rank-title");
    if (rank > 0 && rank <= 9) title.append(kbd(String(rank)), " ");
    title.append(rank === 0 ? "Not ranked yet" : ordinal(rank));
    zone.append(title);
    const list = el("div", "rank-items");
    zone.append(list);
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("drop-target");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("drop-target"));
    zone.addEventListener("click", (event) => {
      if (picked === null || event.target.closest(".rank-chip")) return;
      const id = picked;
      pick(null);
      move(id, rank, true);
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("drop-target");
      const id = event.dataTransfer.getData("text/plain");
      if (place.has(id)) move(id, rank, true);
    });
    zones.push(list);
    board.append(zone);
  }
  for (const r of shown) {
    const chip = el("button", "rank-chip", `Response ${r.letter}`);
    chip.type = "button";
    chip.draggable = true;
    chip.dataset.enter = "submit"; // a chip is moved by keys or dragged; Enter submits (keys.js)
    chip.dataset.responseId = r.id;
    chip.setAttribute("aria-pressed", "false");
    chip.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", r.id));
    chip.addEventListener("click", () => pick(picked === r.id ? null : r.id));
    chips.set(r.id, chip);
  }
  function pick(id) {
    picked = id;
    for (const [rid, chip] of chips) chip.setAttribute("aria-pressed", String(rid === id));
  }
  function layout() {
    for (const r of shown) {
      const chip = chips.get(r.id);
      const rank = place.get(r.id);
      chip.setAttribute("aria-label", `Response ${r.letter}: ${rank ? `ranked ${ordinal(rank)}` : "not ranked"}`);
      zones[rank].append(chip);
    }
  }
  function move(id, rank, focus) {
    place.set(id, rank);
    layout();
    if (focus) chips.get(id).focus();
    ctx.onChange(question.name);
  }
  box.append(board);
  layout();
  const widget = base(question, box, problem);
  widget.value = () => {
    if (shown.some((r) => place.get(r.id) === 0)) return undefined;
    const groups = [];
    for (let rank = 1; rank <= n; rank += 1) {
      const group = shown.filter((r) => place.get(r.id) === rank).map((r) => r.id);
      if (group.length) groups.push(group);
    }
    return groups;
  };
  widget.set = (value) => {
    for (const r of shown) place.set(r.id, 0);
    (Array.isArray(value) ? value : []).forEach((group, i) => {
      for (const id of [].concat(group)) if (place.has(String(id))) place.set(String(id), i + 1);
    });
    layout();
  };
  widget.focus = () => {
    const next = shown.find((r) => place.get(r.id) === 0) || shown[0];
    if (next) chips.get(next.id).focus();
  };
  widget.onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !/^[0-9]$/.test(event.key)) return false;
    const rank = Number(event.key);
    if (rank > n) return false;
    const active = document.activeElement;
    let id = active && active.dataset ? active.dataset.responseId : undefined;
    if (!id || !chips.has(id)) {
      const next = shown.find((r) => place.get(r.id) === 0);
      if (!next) return false;
      id = next.id;
    }
    move(id, rank, true);
    // Go on to the next response still waiting for a place.
    const waiting = shown.find((r) => place.get(r.id) === 0);
    if (waiting) chips.get(waiting.id).focus();
    return true;
  };
  return widget;
}

function codePoints(text) {
  return Array.from(text).length;
}

// Free text, optionally prefilled from an input.  Length is counted in characters as the server
// counts them (code points), and pastes are tallied so a reviewer can tell typed from pasted text.
function text(question, ctx) {
  const { box, problem } = frame(question, "text");
  const prefill = question.prefill && typeof ctx.data[question.prefill] === "string" ? ctx.data[question.prefill] : null;
  const area = el("textarea", "answer-text");
  area.id = nextId(`q-${question.name}`);
  area.rows = prefill ? Math.min(16, Math.max(4, prefill.split("\n").length + 1)) : 3;
  area.spellcheck = true;
  area.setAttribute("aria-label", question.label || question.name);
  if (question.max_length) area.maxLength = question.max_length;
  if (prefill !== null) area.value = prefill;
  const counter = el("p", "counter");
  counter.setAttribute("aria-live", "polite");
  const telemetry = { pastes: 0, pasted_chars: 0 };
  function count() {
    const n = codePoints(area.value);
    let line = `${n} character${n === 1 ? "" : "s"}`;
    if (question.max_length) line += ` of at most ${question.max_length}`;
    if (question.min_length) line += ` (at least ${question.min_length})`;
    if (telemetry.pastes) line += ` · pasted ${telemetry.pasted_chars} in ${telemetry.pastes} paste${telemetry.pastes === 1 ? "" : "s"}`;
    if (prefill !== null && area.value === prefill) line += " · unchanged (left out unless you edit it)";
    counter.textContent = line;
  }
  area.addEventListener("input", () => {
    count();
    ctx.onChange(question.name, "input");
  });
  area.addEventListener("paste", (event) => {
    const pasted = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    telemetry.pastes += 1;
    telemetry.pasted_chars += codePoints(pasted);
    queueMicrotask(count);
  });
  if (prefill !== null) {
    box.append(el("p", "hint", "Prefilled with the response: edit it in place."));
  }
  box.append(area, counter);
  count();
  const widget = base(question, box, problem);
  widget.telemetry = telemetry;
  widget.isText = true;
  widget.value = () => {
    const value = area.value;
    // An untouched prefill is not an answer of the annotator's own; a blank optional one neither.
    if (prefill !== null && value === prefill && question.required === false) return undefined;
    if (!value.trim() && question.required !== false) return undefined;
    if (!value.trim()) return undefined;
    return value;
  };
  widget.raw = () => area.value;
  widget.set = (value) => {
    area.value = typeof value === "string" ? value : prefill ?? "";
    count();
  };
  widget.focus = () => area.focus();
  widget.onKey = () => false;
  return widget;
}

const KINDS = { choice, multi_choice: multiChoice, rating, preference, ranking, text, spans: spansWidget, chat: chatWidget };

export function createWidget(question, ctx) {
  const make = KINDS[question.kind];
  if (!make) {
    const { box, problem } = frame(question, "unknown");
    box.append(el("p", "problem", `This screen cannot show a ${question.kind} question.`));
    const widget = base(question, box, problem);
    return Object.assign(widget, { value: () => undefined, set() {}, focus: () => box.focus(), onKey: () => false });
  }
  return make(question, ctx);
}
