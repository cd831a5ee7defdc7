// Labelled character spans over a text input, by mouse or keyboard.
//
// Offsets are the server's: Python string positions, i.e. code points.  JavaScript strings index
// UTF-16 code units (an emoji is two), so the text is held as Array.from(text) and every DOM
// position is converted through it.
import { base, defaultKeys, el, frame, kbd, matchKey } from "./widgets.js";

function pointToIndex(view, node, offset) {
  if (!view.contains(node)) return null;
  if (node.nodeType === Node.TEXT_NODE) {
    const seg = node.parentElement.closest("[data-start]");
    if (!seg) return null;
    return Number(seg.dataset.start) + Array.from(node.data.slice(0, offset)).length;
  }
  if (node === view) {
    const child = view.children[offset];
    return child && child.dataset.start !== undefined ? Number(child.dataset.start) : Number(view.dataset.size);
  }
  const seg = node.closest("[data-start]");
  if (!seg) return null;
  return Number(seg.dataset.start) + (offset > 0 ? Array.from(seg.textContent).length : 0);
}

const WORD = /[\p{L}\p{N}_]/u;

export function spansWidget(question, ctx) {
  const { box, problem } = frame(question, "spans");
  const source = typeof ctx.data[question.input] === "string" ? ctx.data[question.input] : null;
  const chars = source === null ? [] : Array.from(source);
  const size = chars.length;
  const labels = question.labels;
  const keys = defaultKeys(labels.length);
  let spans = [];
  let caret = 0;
  let anchor = null;
  let editing = null; // the span being re-drawn, to put back on Escape

  const view = el("div", "span-text pre");
  view.tabIndex = 0;
  view.dataset.size = String(size);
  view.setAttribute("role", "group");
  view.setAttribute(
    "aria-label",
    `Text to mark for ${question.label || question.name}: Shift+arrow keys select, then a label key`,
  );
  const slot = ctx.slots[question.input];
  const legend = el("div", "span-labels");
  labels.forEach((label, i) => {
    const button = el("button", `label-button mark-${i % 6}`);
    button.type = "button";
    if (keys[i]) button.append(kbd(keys[i]), " ");
    button.append(label);
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
    button.addEventListener("click", () => apply(label));
    legend.append(button);
  });
  const hint = el(
    "p",
    "hint",
    "Select words with the mouse, or move with ←/→ (Ctrl: by word) and hold Shift to select; then press a label key. " +
      "Delete removes the span at the cursor; Esc clears the selection.",
  );
  const status = el("p", "span-status");
  status.setAttribute("aria-live", "polite");
  const list = el("ol", "span-list");
  list.setAttribute("aria-label", "Marked spans");
  if (source === null) {
    box.append(el("p", "hint", "This item has no text to mark."));
  } else if (slot) {
    slot.append(view);
    box.append(legend, hint, status, list);
  } else {
    box.append(view, legend, hint, status, list);
  }

  const selection = () => {
    if (anchor === null || anchor === caret) return null;
    let start = Math.min(anchor, caret);
    let end = Math.max(anchor, caret);
    while (start < end && /\s/u.test(chars[start])) start += 1;
    while (end > start && /\s/u.test(chars[end - 1])) end -= 1;
    return start < end ? { start, end } : null;
  };

  function render() {
    const sel = selection();
    const cuts = new Set([0, size, caret]);
    for (const s of spans) cuts.add(s.start).add(s.end);
    if (sel) cuts.add(sel.start).add(sel.end);
    const points = Array.from(cuts).filter((p) => p >= 0 && p <= size).sort((a, b) => a - b);
    const parts = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      const a = points[i];
      const b = points[i + 1];
      const seg = el("span", "seg", chars.slice(a, b).join(""));
      seg.dataset.start = String(a);
      const covering = spans.filter((s) => s.start <= a && b <= s.end);
      if (covering.length) {
        const top = covering[covering.length - 1];
        seg.classList.add("mark", `mark-${labels.indexOf(top.label) % 6}`);
        if (covering.length > 1) seg.classList.add("mark-overlap");
        seg.title = covering.map((s) => s.label).join(", ");
      }
      if (sel && sel.start <= a && b <= sel.end) seg.classList.add("selected");
      if (a === caret) seg.classList.add("caret");
      parts.push(seg);
    }
    if (caret === size) {
      const end = el("span", "seg caret caret-end", "\u200b");
      parts.push(end);
    }
    view.replaceChildren(...parts);
    renderList();
  }

  function excerpt(s) {
    const text = chars.slice(s.start, s.end).join("");
    return text.length > 80 ? `${text.slice(0, 77)}…` : text;
  }

  function renderList() {
    list.replaceChildren();
    spans.forEach((s, i) => {
      const li = el("li", "span-item");
      li.dataset.start = String(s.start);
      li.dataset.end = String(s.end);
      li.dataset.label = s.label;
      li.append(el("span", `mark mark-${labels.indexOf(s.label) % 6}`, `“${excerpt(s)}”`));
      const select = el("select", "span-label");
      select.setAttribute("aria-label", `Label of span ${i + 1}`);
      for (const label of labels) {
        const option = el("option", null, label);
        option.value = label;
        option.selected = label === s.label;
        select.append(option);
      }
      select.addEventListener("change", () => {
        s.label = select.value;
        dedupe();
        changed();
      });
      const edit = el("button", "span-edit", "Edit");
      edit.type = "button";
      edit.setAttribute("aria-label", `Edit span ${i + 1}: re-select its words, then press a label key`);
      edit.addEventListener("click", () => startEdit(s));
      const remove = el("button", "span-delete", "Delete");
      remove.type = "button";
      remove.setAttribute("aria-label", `Delete span ${i + 1}`);
      remove.addEventListener("click", () => {
        spans = spans.filter((t) => t !== s);
        changed();
        view.focus();
      });
      li.append(" ", select, " ", edit, " ", remove);
      list.append(li);
    });
  }

  function dedupe() {
    const seen = new Set();
    spans = spans.filter((s) => {
      const key = `${s.start}:${s.end}:${s.label}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    spans.sort((a, b) => a.start - b.start || a.end - b.end || a.label.localeCompare(b.label));
  }

  function changed(message) {
    status.textContent = message || "";
    render();
    ctx.onChange(question.name);
  }

  function apply(label) {
    const sel = selection();
    if (!sel) {
      status.textContent = "Select some text first, then press a label key.";
      return;
    }
    spans.push({ start: sel.start, end: sel.end, label });
    editing = null;
    dedupe();
    anchor = null;
    caret = sel.end;
    changed(`Marked “${excerpt(sel)}” as ${label}.`);
    view.focus();
  }

  function startEdit(s) {
    spans = spans.filter((t) => t !== s);
    editing = s;
    anchor = s.start;
    caret = s.end;
    changed("Editing: adjust with Shift+arrows, then press a label key; Esc puts it back.");
    view.focus();
  }

  function wordStep(from, direction) {
    let i = from;
    if (direction > 0) {
      while (i < size && !WORD.test(chars[i])) i += 1;
      while (i < size && WORD.test(chars[i])) i += 1;
    } else {
      while (i > 0 && !WORD.test(chars[i - 1])) i -= 1;
      while (i > 0 && WORD.test(chars[i - 1])) i -= 1;
    }
    return i;
  }

  function moveTo(target, extend) {
    if (extend && anchor === null) anchor = caret;
    if (!extend) anchor = null;
    caret = Math.max(0, Math.min(size, target));
    render();
  }

  view.addEventListener("mouseup", () => {
    const native = window.getSelection();
    if (!native || native.rangeCount === 0) return;
    const a = pointToIndex(view, native.anchorNode, native.anchorOffset);
    const f = pointToIndex(view, native.focusNode, native.focusOffset);
    if (a === null || f === null) return;
    anchor = a === f ? null : a;
    caret = f;
    native.removeAllRanges();
    render();
    view.focus();
  });

  const widget = {
    ...base(question, box, problem),
    view,
    value() {
      if (!spans.length && question.required !== false) return undefined;
      return spans.map((s) => ({ start: s.start, end: s.end, label: s.label }));
    },
    set(value) {
      spans = (Array.isArray(value) ? value : [])
        .filter((s) => s && Number.isInteger(s.start) && Number.isInteger(s.end) && labels.includes(s.label))
        .map((s) => ({ start: s.start, end: s.end, label: s.label }));
      dedupe();
      anchor = null;
      editing = null;
      render();
    },
    focus() {
      if (source === null) box.focus();
      else view.focus();
    },
    onKey(event) {
      if (source === null) return false;
      const i = matchKey(event, keys);
      if (i >= 0) {
        apply(labels[i]);
        return true;
      }
      if (event.target !== view) return false;
      const extend = event.shiftKey;
      const word = event.ctrlKey || event.altKey || event.metaKey;
      switch (event.key) {
        case "ArrowRight":
          moveTo(word ? wordStep(caret, 1) : caret + 1, extend);
          return true;
        case "ArrowLeft":
          moveTo(word ? wordStep(caret, -1) : caret - 1, extend);
          return true;
        case "Home":
          moveTo(0, extend);
          return true;
        case "End":
          moveTo(size, extend);
          return true;
        case "Escape":
          if (editing) {
            spans.push(editing);
            editing = null;
            dedupe();
          }
          anchor = null;
          changed("");
          return true;
        case "Delete":
        case "Backspace": {
          const here = spans.filter((s) => s.start <= caret && caret <= s.end);
          if (!here.length) return false;
          const gone = here[here.length - 1];
          spans = spans.filter((s) => s !== gone);
          changed(`Deleted the ${gone.label} span “${excerpt(gone)}”.`);
          return true;
        }
        default:
          return false;
      }
    },
  };
  render();
  return widget;
}
