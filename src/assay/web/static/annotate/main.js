// The annotation screen: lease an item, show it, collect the answers, submit, move on.
//
// The next item is leased while the current one is on screen (a project allows two live leases
// per annotator for exactly this), so moving on is a DOM swap, not a round trip.  Everything the
// annotator enters is kept in sessionStorage per assignment until the server has stored it.
import * as api from "./api.js";
import { renderInputs } from "./inputs.js";
import { createWidget } from "./questions.js";
import { bindKeys } from "./keys.js";
import { LeaseClock } from "./lease.js";

const root = document.getElementById("annotate");
const $ = (id) => document.getElementById(id);
const ui = {
  item: $("item"),
  form: $("questions"),
  submit: $("submit"),
  skip: $("skip"),
  undo: $("undo"),
  next: $("next-item"),
  notice: $("notice"),
  status: $("status"),
  timer: $("lease-timer"),
  count: $("done-count"),
  done: $("all-done"),
  work: $("work"),
  revising: $("revising"),
  instructions: $("instructions"),
  toggleInstructions: $("toggle-instructions"),
};

const state = {
  projectId: root.dataset.projectId,
  inputs: [],
  current: null, // {lease, widgets, started}
  prefetched: null,
  prefetching: null,
  last: null, // {lease, answers, annotationId}: what undo can reopen
  revising: null, // annotation id being corrected
  parked: null, // the lease that undo pushed aside
  busy: false,
  submitted: 0,
  undoAvailable: false,
};

function draftKey(lease) {
  return `assay:draft:${lease.assignment_id}`;
}

function say(message, kind = "info") {
  ui.notice.textContent = message;
  ui.notice.hidden = !message;
  ui.notice.dataset.kind = kind;
}

function announce(message) {
  ui.status.textContent = message;
}

function widgetsOf() {
  return state.current ? state.current.widgets : [];
}

function visible(widget) {
  return !widget.box.hidden;
}

function conditionHolds(condition) {
  const target = widgetsOf().find((w) => w.name === condition.question);
  if (!target || !visible(target)) return false;
  const value = target.value();
  if (value === undefined) return false;
  const values = condition.in !== undefined ? condition.in : [condition.equals];
  return Array.isArray(value) ? value.some((v) => values.includes(v)) : values.includes(value);
}

function applyConditions() {
  // Conditions only look at earlier questions, so one pass in order settles them.
  for (const widget of widgetsOf()) {
    if (widget.question.show_if) widget.box.hidden = !conditionHolds(widget.question.show_if);
  }
}

function saveDraft() {
  if (!state.current) return;
  const values = {};
  for (const widget of widgetsOf()) values[widget.name] = widget.raw ? widget.raw() : widget.value();
  try {
    sessionStorage.setItem(draftKey(state.current.lease), JSON.stringify(values));
  } catch (err) {
    // Storage full or disabled: the answers are still on screen.
  }
}

function loadDraft(lease) {
  try {
    const text = sessionStorage.getItem(draftKey(lease));
    return text ? JSON.parse(text) : null;
  } catch (err) {
    return null;
  }
}

function dropDraft(lease) {
  try {
    sessionStorage.removeItem(draftKey(lease));
  } catch (err) {
    // Nothing to clean up.
  }
}

function focusQuestion(widget) {
  if (widget) widget.focus();
  else ui.submit.focus();
}

// Where keys go on their own: a question answered by single keys, or a required text box still
// empty.  An optional text box is entered only on purpose (Tab, ], a click): were it entered on
// its own, Enter would type a newline there instead of submitting, and the next item's keys would
// land in the box.
function stopsAt(widget) {
  return !widget.isText || (widget.question.required !== false && widget.value() === undefined);
}

function nextStopAfter(widget) {
  const list = widgetsOf().filter(visible);
  return list.slice(list.indexOf(widget) + 1).find(stopsAt) || null;
}

function onChange(name, how) {
  const widget = widgetsOf().find((w) => w.name === name);
  if (widget) widget.clearProblem();
  applyConditions();
  saveDraft();
  if (how === "key" && widget && widget.autoAdvance) {
    const next = nextStopAfter(widget);
    // Nothing left that keys answer: focus stays on this answer, where Enter submits.
    if (next) focusQuestion(next);
    else if (collect().missing.length === 0) announce("Every required question is answered: Enter submits.");
  }
}

function show(lease, answers) {
  const schemaInputs = state.inputs;
  const spanTargets = new Set(lease.questions.filter((q) => q.kind === "spans").map((q) => q.input));
  const { root: inputsRoot, slots, responses } = renderInputs({
    inputs: schemaInputs,
    data: lease.item.data,
    displayOrder: lease.item.display_order,
    spanTargets,
  });
  const ctx = { data: lease.item.data, responses, slots, onChange, assignmentId: lease.assignment_id };
  const widgets = lease.questions.map((q) => createWidget(q, ctx));
  ui.item.replaceChildren(inputsRoot);
  ui.form.replaceChildren(...widgets.map((w) => w.box));
  state.current = { lease, widgets, started: performance.now() };
  const restore = answers || loadDraft(lease);
  if (restore) for (const widget of widgets) if (widget.name in restore) widget.set(restore[widget.name]);
  applyConditions();
  root.dataset.assignmentId = String(lease.assignment_id);
  root.dataset.itemId = String(lease.item.id);
  ui.revising.hidden = !state.revising;
  ui.submit.textContent = state.revising ? "Save correction" : "Submit";
  ui.skip.textContent = state.revising ? "Cancel correction" : "Skip";
  clock.start(lease);
  ui.done.hidden = true;
  ui.work.hidden = false;
  window.scrollTo(0, 0);
  focusQuestion(widgets.find((w) => visible(w) && stopsAt(w)) || widgets.find(visible));
  refreshUndo();
}

function prefetch() {
  if (state.prefetching || state.prefetched) return state.prefetching;
  const holding = state.current ? state.current.lease.assignment_id : null;
  state.prefetching = api
    .nextLease(state.projectId)
    .then((lease) => {
      // At the lease limit the server answers with a lease already held: not a new item.
      state.prefetched = lease && lease.assignment_id !== holding ? lease : null;
    })
    .catch(() => {
      state.prefetched = null;
    })
    .finally(() => {
      state.prefetching = null;
    });
  return state.prefetching;
}

const MARGIN_MS = 20000;

async function takeNext() {
  if (state.prefetching) await state.prefetching;
  let lease = state.prefetched;
  state.prefetched = null;
  if (lease && !(api.leaseLeft(lease) >= MARGIN_MS)) {
    // Too little time left to work on it: hand it back (it may have lapsed already) and lease anew.
    await api.skip(lease.assignment_id).catch(() => null);
    lease = null;
  }
  if (!lease) lease = await api.nextLease(state.projectId);
  if (!lease) {
    state.current = null;
    clock.stop();
    ui.work.hidden = true;
    ui.done.hidden = false;
    ui.done.focus();
    refreshUndo();
    return;
  }
  show(lease);
  prefetch();
}

function collect() {
  const answers = {};
  const missing = [];
  const pastes = {};
  for (const widget of widgetsOf()) {
    if (!visible(widget)) continue;
    const value = widget.value();
    if (value === undefined) {
      if (widget.question.required !== false) missing.push(widget);
    } else {
      answers[widget.name] = value;
      // Paste counts travel with the answer so reviewers can tell typed from pasted text.
      if (widget.isText && widget.telemetry) pastes[widget.name] = { ...widget.telemetry };
    }
  }
  return { answers, missing, client: Object.keys(pastes).length ? { text: pastes } : null };
}

function showProblems(err) {
  let first = null;
  for (const problem of err.problems) {
    const loc = String(problem.loc || "");
    const name = problem.question || loc.split(".")[1];
    const widget = widgetsOf().find((w) => w.name === name);
    if (widget) {
      widget.showProblem(problem.msg || err.message);
      first = first || widget;
    }
  }
  if (first) focusQuestion(first);
}

function setBusy(busy) {
  state.busy = busy;
  ui.submit.disabled = busy;
  ui.skip.disabled = busy;
  root.classList.toggle("busy", busy);
}

async function submit() {
  if (state.busy || !state.current) return;
  const { answers, missing, client } = collect();
  if (missing.length) {
    for (const widget of missing) widget.showProblem(widget.missingText ? widget.missingText() : "This question needs an answer.");
    say(`Answer ${missing.map((w) => w.question.label || w.name).join(", ")} before submitting.`, "error");
    focusQuestion(missing[0]);
    return;
  }
  const { lease } = state.current;
  const duration = Math.round(performance.now() - state.current.started);
  setBusy(true);
  try {
    if (state.revising) {
      await api.revise(state.revising, answers);
      state.last = { lease, answers, annotationId: state.revising };
      state.revising = null;
      dropDraft(lease);
      say("");
      announce("Correction saved.");
      const parked = state.parked;
      state.parked = null;
      if (parked) {
        show(parked);
        prefetch();
      } else await takeNext();
      return;
    }
    const stored = await api.submit(lease.assignment_id, answers, duration, client);
    dropDraft(lease);
    state.last = { lease, answers, annotationId: stored && stored.id };
    state.submitted += 1;
    ui.count.textContent = String(state.submitted);
    say("");
    announce(`Saved. ${state.submitted} submitted so far.`);
    await takeNext();
  } catch (err) {
    failed(err);
  } finally {
    setBusy(false);
  }
}

// `next` refuses a paused annotator with 403 "you are paused on this project: …".  That is not an
// error of theirs to fix by signing in again: the screen says so calmly instead.
function isPaused(err) {
  return err instanceof api.ApiError && err.status === 403 && /^you are paused\b/i.test(err.message);
}

let pausedPanel = null;

function showPaused() {
  state.current = null;
  state.prefetched = null;
  state.last = null; // nothing to reopen: the screen offers no work until the pause is lifted
  clock.stop();
  say("");
  ui.next.hidden = true;
  ui.work.hidden = true;
  ui.done.hidden = true;
  if (!pausedPanel) {
    // Built here rather than in the page: a pause can begin mid-session, after any answer.
    pausedPanel = document.createElement("section");
    pausedPanel.id = "paused";
    pausedPanel.className = "all-done paused";
    pausedPanel.tabIndex = -1;
    const heading = document.createElement("h2");
    heading.textContent = "You are paused on this project";
    const why = document.createElement("p");
    why.textContent =
      "Some items in this project have known answers. Your recent answers to those were below this " +
      "project's quality bar, so no new items are given to you here for now. Everything you submitted is saved.";
    const next = document.createElement("p");
    next.textContent =
      "A manager has been told and will look at your answers. Once they lift the pause, reload this page " +
      "to carry on. Your other projects are not affected.";
    const back = document.createElement("p");
    const link = document.createElement("a");
    link.href = "/projects";
    link.textContent = "Back to your projects";
    back.append(link);
    pausedPanel.append(heading, why, next, back);
    ui.done.after(pausedPanel);
  }
  pausedPanel.hidden = false;
  pausedPanel.focus();
  refreshUndo();
  root.dataset.ready = "paused";
}

function failed(err) {
  if (isPaused(err)) {
    showPaused();
    return;
  }
  if (!(err instanceof api.ApiError)) {
    say(`Something went wrong: ${err.message}. Your answers are still here; try again.`, "error");
    return;
  }
  if (err.status === 422) {
    showProblems(err);
    say(`Not saved: ${err.message}`, "error");
  } else if (err.status === 409) {
    say(
      `Not saved: ${err.message}. Your answers are still on screen: copy anything you want to keep, then choose Next item.`,
      "error",
    );
    ui.next.hidden = false;
  } else if (err.status === 401 || err.status === 403) {
    say(`Not saved: ${err.message}. Sign in again in another tab, then submit again: nothing here is lost.`, "error");
  } else {
    say(`Not saved: ${err.message}. Your answers are still here; submit again to retry.`, "error");
  }
}

async function skip() {
  if (state.busy || !state.current) return;
  setBusy(true);
  try {
    if (state.revising) {
      // Leave the earlier answer as it was stored and go back to the item that was on screen.
      state.revising = null;
      const parked = state.parked;
      state.parked = null;
      say("");
      if (parked) show(parked);
      else await takeNext();
      return;
    }
    const { lease } = state.current;
    await api.skip(lease.assignment_id).catch((err) => {
      if (!(err instanceof api.ApiError) || err.status !== 409) throw err;
    });
    dropDraft(lease);
    say("");
    announce("Skipped.");
    await takeNext();
  } catch (err) {
    failed(err);
  } finally {
    setBusy(false);
  }
}

async function moveOn() {
  ui.next.hidden = true;
  if (state.current) dropDraft(state.current.lease);
  state.revising = null;
  say("");
  setBusy(true);
  try {
    await takeNext();
  } catch (err) {
    failed(err);
  } finally {
    setBusy(false);
  }
}

function undoOpen() {
  const last = state.last;
  return Boolean(
    state.undoAvailable && last && last.annotationId && !state.revising && api.leaseLeft(last.lease) > 0,
  );
}

function refreshUndo() {
  ui.undo.hidden = !undoOpen();
}

function undo() {
  if (state.busy || !undoOpen()) return;
  const last = state.last;
  saveDraft();
  // The item on screen waits (its lease keeps running) while the last answer is corrected.
  state.parked = state.current ? state.current.lease : null;
  state.revising = last.annotationId;
  state.last = null;
  // The #revising banner that show() reveals is the one notice of it: saying it in #notice too
  // put the same sentence on screen twice.
  say("");
  show(last.lease, last.answers);
}

const clock = new LeaseClock(ui.timer, {
  onExpire() {
    say(
      "Your lease on this item has run out. Nothing you entered is lost: submit now and it is kept if the item " +
        "still needs answers; if not, you will be told, and your text stays on screen to copy.",
      "warning",
    );
  },
  onTick: refreshUndo,
  left: api.leaseLeft,
});

function toggleInstructions() {
  const open = ui.instructions.hidden;
  ui.instructions.hidden = !open;
  ui.toggleInstructions.setAttribute("aria-expanded", String(open));
  root.classList.toggle("instructions-closed", !open);
}

function parseSchema() {
  try {
    const schema = JSON.parse(root.dataset.schema || "null");
    return schema && Array.isArray(schema.inputs) ? schema : null;
  } catch (err) {
    return null;
  }
}

async function start() {
  ui.submit.addEventListener("click", submit);
  ui.skip.addEventListener("click", skip);
  ui.undo.addEventListener("click", undo);
  ui.next.addEventListener("click", moveOn);
  ui.toggleInstructions.addEventListener("click", toggleInstructions);
  bindKeys({
    widgets: widgetsOf,
    submit,
    skip,
    undo,
    toggleInstructions,
    focusQuestion,
  });
  let schema = parseSchema();
  try {
    if (!schema) schema = (await api.getProject(state.projectId)).schema;
    state.inputs = schema.inputs;
    api.canRevise().then((ok) => {
      state.undoAvailable = ok;
      refreshUndo();
    });
    await takeNext();
    root.dataset.ready = "true";
  } catch (err) {
    failed(err);
    if (!isPaused(err)) root.dataset.ready = "error";
  }
}

start();
