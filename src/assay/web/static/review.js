// The review pages by keyboard: J/K move between answers, A accepts, R goes to the reject reason
// (Enter there rejects), F opens the fix, N/P turn the page.  After a verdict the page reloads
// with the next answer still waiting for review in focus.
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
    const area = hook.querySelector("textarea, input:not([type=hidden]), select");
    if (area) area.focus();
  }
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
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
