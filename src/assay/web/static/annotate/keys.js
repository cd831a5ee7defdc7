// Keyboard: global shortcuts first, then the keys of the question that has focus.
//
// Alt+letter and Ctrl+Enter work everywhere, even while typing; single keys (option numbers,
// labels, [ and ]) only outside text boxes, so typing an answer never triggers them.

function isTyping(target) {
  if (!target || !target.tagName) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  return tag === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(target.type);
}

export function bindKeys({ widgets, submit, skip, undo, toggleInstructions, focusQuestion }) {
  const shortcuts = document.getElementById("shortcuts");
  function activeWidget() {
    const focused = document.activeElement;
    const visible = widgets().filter((w) => !w.box.hidden);
    // A spans widget's text sits with the item's inputs, outside its own fieldset.
    return visible.find((w) => w.box.contains(focused) || (w.view && w.view.contains(focused))) || null;
  }
  function step(direction) {
    const visible = widgets().filter((w) => !w.box.hidden);
    if (!visible.length) return;
    const at = visible.indexOf(activeWidget());
    const next = at < 0 ? (direction > 0 ? 0 : visible.length - 1) : at + direction;
    focusQuestion(visible[Math.max(0, Math.min(visible.length - 1, next))]);
  }
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    const typing = isTyping(event.target);
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
      return;
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      const action = { KeyS: skip, KeyU: undo, KeyI: toggleInstructions }[event.code];
      if (action) {
        event.preventDefault();
        action();
        return;
      }
      // Alt+Up/Down belong to the focused question: a chat moves between its turns with them,
      // even from its message box.
      if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        const widget = activeWidget();
        if (widget && widget.onKey(event)) event.preventDefault();
      }
      return;
    }
    if (typing) {
      if (event.key === "Escape") {
        // Leave the text box for its question, so single-key shortcuts work again.
        event.preventDefault();
        const widget = activeWidget();
        if (widget) widget.box.focus();
        else event.target.blur();
      }
      return;
    }
    const tag = event.target && event.target.tagName;
    if (event.key === "Enter" && !event.shiftKey) {
      // Enter activates a button or link, except on a widget part that only keys move (a ranking
      // chip): there, as on an answered option, Enter submits.
      const activates = tag === "BUTTON" ? event.target.dataset.enter !== "submit" : tag === "A" || tag === "SUMMARY";
      if (activates) return;
      event.preventDefault();
      submit();
      return;
    }
    if (event.ctrlKey || event.metaKey) {
      const widget = activeWidget();
      if (widget && widget.onKey(event)) event.preventDefault();
      return;
    }
    if (event.key === "[" || event.key === "]") {
      event.preventDefault();
      step(event.key === "]" ? 1 : -1);
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      if (shortcuts) {
        shortcuts.open = !shortcuts.open;
        if (shortcuts.open) shortcuts.querySelector("summary").focus();
      }
      return;
    }
    let widget = activeWidget();
    if (!widget) {
      // Nothing focused yet: keys go to the first question still waiting for an answer.
      const visible = widgets().filter((w) => !w.box.hidden);
      widget = visible.find((w) => w.value() === undefined) || visible[0];
      if (!widget) return;
    }
    if (widget.onKey(event)) event.preventDefault();
  });
}
