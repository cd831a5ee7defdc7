// Live chat (kind "chat"): the annotator talks with models turn by turn and judges each turn's
// candidates.  The tree of turns is the server's (GET/POST/PUT /api/v1/assignments/{id}/turns);
// this widget shows one path through it: the judged turns as bubbles, the current turn's
// candidates side by side as they stream in, and a composer for the next user turn.
//
// Everything the models and people wrote is shown inert: user text as text, model text through
// the screen's Markdown renderer (markdown.js builds DOM nodes, never parses HTML).
import * as api from "./api.js";
import { LETTERS } from "./inputs.js";
import { renderMarkdown } from "./markdown.js";
import { base, el, frame, kbd, nextId } from "./widgets.js";

const STRENGTH_WORDS = {
  1: ["better"],
  2: ["slightly better", "much better"],
  3: ["slightly better", "clearly better", "much better"],
};

function strengthWord(k, max) {
  const words = STRENGTH_WORDS[max];
  return words ? words[k - 1] : `better by ${k}`;
}

function ordinal(n) {
  return n === 1 ? "1st" : n === 2 ? "2nd" : n === 3 ? "3rd" : `${n}th`;
}

function plain(event) {
  return !event.ctrlKey && !event.metaKey && !event.altKey;
}

function digitOf(event) {
  // The physical digit row, so Shift+2 is "2" whatever the layout prints on it.
  const m = /^Digit([0-9])$/.exec(event.code || "") || /^Numpad([0-9])$/.exec(event.code || "");
  if (m) return Number(m[1]);
  return /^[0-9]$/.test(event.key) ? Number(event.key) : null;
}

export function chatWidget(question, ctx) {
  const { box, problem } = frame(question, "chat");
  const assignmentId = ctx.assignmentId;
  const judgeKind = question.judge || ((question.candidates || 2) === 2 ? "preference" : "ranking");
  const strengths = Number.isInteger(question.strengths) ? question.strengths : 0;
  const tiesAllowed = question.ties !== false;
  const rewriteAllowed = question.rewrite === true;
  const ratingScale = question.rating && Number.isInteger(question.rating.min) ? question.rating : null;
  // A required question's rating is part of every judgement (the server refuses one without it).
  const ratingNeeded = Boolean(ratingScale) && question.required !== false;
  const maxTurns = Number.isInteger(question.max_turns) ? question.max_turns : 8;

  const state = {
    loaded: false,
    turns: new Map(), // turn_id -> Turn (the server's tree)
    path: [], // turn ids from the first turn to the current one
    selected: null, // index in path picked with Alt+Up/Down (null: the current turn)
    local: new Map(), // turn_id -> judgement being made {preferred, strength, places, rating}
    rewrites: {}, // turn_id -> text of a rewrite (unsent until PUT)
    editing: false, // the rewrite box is open for the current turn
    branch: null, // {from: turn id, parent: turn id | null}: the composer replaces that turn's message
    busy: false, // a turn is being generated
    saved: new Map(), // turn_id -> JSON of the judgement last stored on the server
    wantHead: null, // a turn id to show once the tree is loaded (from the draft)
    error: "", // why the last message was not answered
    saveError: "", // why a judgement was not stored
  };

  // ----- the page structure (built once; parts re-rendered in place)
  const hint = el("p", "hint chat-hint");
  const n = question.candidates || 2;
  if (judgeKind === "ranking") hint.append(kbd("1"), "–", kbd(String(Math.min(n, 9))), " place the focused answer (equal places tie) · ");
  else hint.append(kbd("1"), "/", kbd("2"), " choose · ");
  if (strengths > 1 && judgeKind === "preference") hint.append(kbd("Shift+1"), "…", kbd(`Shift+${strengths}`), " how much better · ");
  if (tiesAllowed && judgeKind === "preference") hint.append(kbd("t"), " tie · ");
  if (rewriteAllowed) hint.append(kbd("e"), " rewrite the chosen answer · ");
  if (ratingScale) hint.append(kbd("g"), " rate it · ");
  hint.append(kbd("c"), " write the next message · ", kbd("Alt+↑"), "/", kbd("Alt+↓"), " move between turns · ");
  hint.append(kbd("b"), " branch from the turn · ", kbd(","), "/", kbd("."), " switch branch · ", kbd("r"), " retry");
  const pathList = el("ol", "chat-path");
  pathList.setAttribute("aria-label", "The conversation so far");
  const current = el("section", "chat-current");
  current.setAttribute("aria-label", "The answers to judge");
  current.tabIndex = -1;
  current.dataset.focusKey = "current";
  const live = el("p", "chat-live");
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  const failure = el("div", "chat-failure");
  failure.setAttribute("role", "alert");
  failure.hidden = true;
  const composerBox = el("div", "chat-composer");
  const composerLabel = el("label", "chat-composer-label", "Your next message");
  const composer = el("textarea", "chat-input");
  composer.id = nextId(`q-${question.name}-message`);
  composerLabel.htmlFor = composer.id;
  composer.rows = 3;
  composer.spellcheck = true;
  composer.dataset.focusKey = "composer";
  const composerHint = el("p", "hint chat-composer-hint");
  composerHint.id = nextId("composer-hint");
  composer.setAttribute("aria-describedby", composerHint.id);
  const sendButton = el("button", "primary chat-send", "Send");
  sendButton.type = "button";
  sendButton.dataset.focusKey = "send";
  const cancelBranch = el("button", "secondary chat-cancel-branch", "Cancel branch");
  cancelBranch.type = "button";
  cancelBranch.hidden = true;
  const composerRow = el("div", "chat-composer-row");
  composerRow.append(sendButton, cancelBranch);
  composerBox.append(composerLabel, composer, composerHint, composerRow);
  box.append(hint, pathList, current, failure, live, composerBox);

  const widget = base(question, box, problem);

  // ----- tree helpers
  const turn = (id) => state.turns.get(id);
  const leafId = () => (state.path.length ? state.path[state.path.length - 1] : null);
  const childrenOf = (parent) =>
    Array.from(state.turns.values())
      .filter((t) => (t.parent ?? null) === parent)
      .sort((a, b) => a.turn_id - b.turn_id);
  const siblingsOf = (t) => childrenOf(t.parent ?? null);

  function pathTo(id) {
    const out = [];
    let at = turn(id);
    const seen = new Set();
    while (at && !seen.has(at.turn_id)) {
      seen.add(at.turn_id);
      out.unshift(at.turn_id);
      at = at.parent === null || at.parent === undefined ? null : turn(at.parent);
    }
    return out;
  }

  // The newest leaf under a turn (the branch one was last on).
  function descend(id) {
    let at = id;
    for (;;) {
      const kids = childrenOf(at);
      if (!kids.length) return at;
      at = kids[kids.length - 1].turn_id;
    }
  }

  function shown(t) {
    return (t && Array.isArray(t.candidates) ? t.candidates : []).map((c, i) => ({ ...c, letter: LETTERS[i % 26] }));
  }

  const hasFailed = (t) => shown(t).some((c) => c.state === "failed");
  const isDone = (t) => shown(t).length > 0 && shown(t).every((c) => c.state === "done");
  const frozen = (t) => Array.isArray(t.children) ? t.children.length > 0 : childrenOf(t.turn_id).length > 0;

  // ----- judgements
  function fromServer(t) {
    const j = t.judgement;
    const local = { preferred: undefined, strength: undefined, places: new Map(), rating: undefined };
    if (!j) return local;
    if (j.preferred !== undefined && j.preferred !== null) local.preferred = j.preferred === "tie" ? "tie" : Number(j.preferred);
    if (Number.isInteger(j.strength)) local.strength = j.strength;
    if (Array.isArray(j.ranking)) {
      j.ranking.forEach((group, i) => {
        for (const cid of [].concat(group)) local.places.set(Number(cid), i + 1);
      });
    }
    if (Number.isInteger(j.rating)) local.rating = j.rating;
    if (typeof j.rewrite === "string" && !(t.turn_id in state.rewrites)) state.rewrites[t.turn_id] = j.rewrite;
    return local;
  }

  function localOf(t) {
    if (!state.local.has(t.turn_id)) state.local.set(t.turn_id, fromServer(t));
    return state.local.get(t.turn_id);
  }

  // The candidate the rewrite and rating are about: the preferred one, or the single top-ranked.
  function chosenId(t) {
    const j = localOf(t);
    if (judgeKind === "preference") return typeof j.preferred === "number" ? j.preferred : null;
    const top = shown(t).filter((c) => j.places.get(c.id) === 1);
    return top.length === 1 ? top[0].id : null;
  }

  function rewriteOf(t) {
    const text = state.rewrites[t.turn_id];
    if (typeof text !== "string" || !text.trim()) return null;
    const chosen = shown(t).find((c) => c.id === chosenId(t));
    return chosen && chosen.content === text ? null : text;
  }

  // The judgement in the shape PUT and submit take, or null while it is incomplete.
  function judgementOf(t) {
    if (!t || !isDone(t)) return null;
    const j = localOf(t);
    const out = {};
    if (judgeKind === "preference") {
      if (j.preferred === undefined) return null;
      if (j.preferred === "tie") out.preferred = "tie";
      else {
        out.preferred = j.preferred;
        if (strengths > 1) {
          if (!Number.isInteger(j.strength)) return null;
          out.strength = j.strength;
        } else if (strengths === 1) out.strength = 1;
      }
    } else {
      const cands = shown(t);
      if (cands.some((c) => !j.places.get(c.id))) return null;
      const groups = [];
      for (let rank = 1; rank <= cands.length; rank += 1) {
        const group = cands.filter((c) => j.places.get(c.id) === rank).map((c) => c.id);
        if (group.length) groups.push(group);
      }
      out.ranking = groups;
    }
    const rewrite = rewriteAllowed && chosenId(t) !== null ? rewriteOf(t) : null;
    if (rewrite !== null) out.rewrite = rewrite;
    if (ratingScale && Number.isInteger(j.rating)) out.rating = j.rating;
    else if (ratingNeeded) return null;
    return out;
  }

  // Store the judgement of a turn (a server-side draft) unless the server has it already.
  async function store(t) {
    const judgement = judgementOf(t);
    if (!judgement || frozen(t)) return true;
    const text = JSON.stringify(judgement);
    if (state.saved.get(t.turn_id) === text) return true;
    try {
      const answer = await api.judgeTurn(assignmentId, t.turn_id, judgement);
      state.saved.set(t.turn_id, text);
      t.judgement = (answer && answer.judgement) || judgement;
      if (state.saveError) {
        state.saveError = "";
        render();
      }
      return true;
    } catch (err) {
      state.saveError = `The judgement of this turn was not saved: ${err.message}. Change it or send again to retry.`;
      render();
      return false;
    }
  }

  let storeTimer = null;
  function storeSoon(t) {
    clearTimeout(storeTimer);
    storeTimer = setTimeout(() => store(t), 400);
  }

  // ----- drafts: what only this browser holds (the composer, an unsent rewrite, the branch shown)
  function changed(how = "input") {
    ctx.onChange(question.name, how);
  }

  widget.raw = () => ({
    chat_draft: 1,
    composer: composer.value,
    rewrites: state.rewrites,
    head: leafId(),
    branch: state.branch,
  });

  widget.set = (value) => {
    if (!value || typeof value !== "object") return;
    if (value.chat_draft) {
      if (typeof value.composer === "string") composer.value = value.composer;
      if (value.rewrites && typeof value.rewrites === "object") {
        for (const [k, v] of Object.entries(value.rewrites)) if (typeof v === "string") state.rewrites[k] = v;
      }
      if (Number.isInteger(value.head)) state.wantHead = value.head;
      if (value.branch && typeof value.branch === "object") state.branch = value.branch;
    } else if (Array.isArray(value.turns) && value.turns.length) {
      // A submitted answer reopened (undo): show its path.
      const last = value.turns[value.turns.length - 1];
      if (Number.isInteger(last.turn_id)) state.wantHead = last.turn_id;
      for (const t of value.turns) if (typeof t.rewrite === "string") state.rewrites[t.turn_id] = t.rewrite;
    }
    if (state.loaded) {
      if (state.wantHead !== null) state.path = []; // what was set wins over the path on screen
      choosePath();
      render();
    }
  };

  widget.value = () => {
    if (!state.loaded) return undefined;
    const out = [];
    for (const id of state.path) {
      const t = turn(id);
      // A turn the conversation went on from keeps the judgement it was continued with.
      const judgement = frozen(t) && t.judgement ? t.judgement : judgementOf(t);
      if (!judgement) {
        // A last turn that failed cannot be judged: the path up to it can still be submitted.
        if (id === leafId() && hasFailed(t)) break;
        return undefined;
      }
      out.push({ turn_id: id, ...judgement });
    }
    return out.length ? { turns: out } : undefined;
  };

  widget.missingText = () => {
    const t = turn(leafId());
    if (!state.loaded) return "The conversation is still loading.";
    if (!t) return "Start the conversation: write a message and press Enter.";
    if (hasFailed(t)) return "An answer of the last turn failed: retry it (r), or branch from an earlier turn.";
    if (!isDone(t)) return "Wait for the answers to come in.";
    if (ratingNeeded && judgementOf(t) === null && localOf(t).preferred !== undefined) return "Rate the chosen answer (g, then a number).";
    return judgeKind === "ranking" ? "Rank the answers of the last turn first." : "Choose the better answer of the last turn first.";
  };

  // ----- rendering
  function say(message) {
    live.textContent = message;
  }

  // `retry`: what the Retry button does (none without it).
  function showFailure(message, retry = null) {
    failure.replaceChildren();
    if (!message) {
      failure.hidden = true;
      return;
    }
    failure.append(el("p", "chat-failure-text", message));
    if (retry) {
      const button = el("button", "secondary chat-retry");
      button.type = "button";
      button.dataset.focusKey = "retry";
      button.append("Retry ", kbd("r"));
      button.addEventListener("click", retry);
      failure.append(button);
    }
    failure.hidden = false;
  }

  function userBubble(t, index) {
    const bubble = el("div", `chat-bubble chat-user author-${t.author === "item" ? "item" : "human"}`);
    const who = el("p", "chat-author", t.author === "item" ? "Opening message (from the item)" : "You wrote");
    const body = el("div", "chat-text pre");
    body.textContent = typeof t.content === "string" ? t.content : "";
    bubble.append(who, body);
    bubble.setAttribute("aria-label", `Turn ${index + 1}: ${t.author === "item" ? "opening message" : "your message"}`);
    return bubble;
  }

  function answerBubble(t) {
    const cands = shown(t);
    const j = localOf(t);
    let chosen = cands.find((c) => c.id === chosenId(t));
    let note = "";
    if (!chosen && judgeKind === "preference" && j.preferred === "tie") {
      chosen = cands[0];
      note = " (a tie; the conversation goes on with A)";
    }
    if (!chosen) return null;
    const rewrite = rewriteAllowed ? rewriteOf(t) : null;
    const bubble = el("div", `chat-bubble chat-answer ${rewrite !== null ? "author-human rewritten" : "author-model"}`);
    const who = el(
      "p",
      "chat-author",
      rewrite !== null ? `Written by you (a rewrite of answer ${chosen.letter})` : `Model answer ${chosen.letter}${note}`,
    );
    const body = el("div", "chat-text");
    if (rewrite !== null) {
      body.classList.add("pre");
      body.textContent = rewrite;
    } else {
      body.classList.add("md");
      body.append(renderMarkdown(chosen.content || ""));
    }
    bubble.append(who, body);
    const verdict = verdictText(t);
    if (verdict) bubble.append(el("p", "chat-verdict", verdict));
    return bubble;
  }

  function verdictText(t) {
    const j = localOf(t);
    const cands = shown(t);
    const letter = (id) => (cands.find((c) => c.id === id) || { letter: "?" }).letter;
    let text = "";
    if (judgeKind === "preference") {
      if (j.preferred === "tie") text = "Judged a tie";
      else if (typeof j.preferred === "number") {
        text = `Judged: ${letter(j.preferred)} ${strengths > 1 && j.strength ? strengthWord(j.strength, strengths) : "better"}`;
      }
    } else if (j.places.size) {
      const order = cands.filter((c) => j.places.get(c.id)).sort((a, b) => j.places.get(a.id) - j.places.get(b.id));
      text = `Ranked: ${order.map((c) => `${c.letter} ${ordinal(j.places.get(c.id))}`).join(", ")}`;
    }
    if (text && Number.isInteger(j.rating)) text += ` · rated ${j.rating}`;
    return text;
  }

  function branchSwitch(t, index) {
    const sibs = siblingsOf(t);
    if (sibs.length < 2) return null;
    const at = sibs.findIndex((s) => s.turn_id === t.turn_id);
    const nav = el("div", "chat-branches");
    nav.setAttribute("role", "group");
    nav.setAttribute("aria-label", `Branches at turn ${index + 1}`);
    const prev = el("button", "secondary chat-branch-prev", "‹");
    prev.type = "button";
    prev.setAttribute("aria-label", "Previous branch");
    prev.disabled = at <= 0;
    prev.dataset.focusKey = `prev-${index}`;
    prev.addEventListener("click", () => switchBranch(index, -1));
    const next = el("button", "secondary chat-branch-next", "›");
    next.type = "button";
    next.setAttribute("aria-label", "Next branch");
    next.disabled = at >= sibs.length - 1;
    next.dataset.focusKey = `next-${index}`;
    next.addEventListener("click", () => switchBranch(index, 1));
    const where = el("span", "chat-branch-where", `Branch ${at + 1} of ${sibs.length}`);
    nav.append(prev, where, next);
    return nav;
  }

  function renderPath() {
    const items = [];
    // While a branch is being written, the path is shown up to the turn it follows.
    const shownPath = state.branch ? (state.branch.parent === null ? [] : pathTo(state.branch.parent)) : state.path;
    shownPath.forEach((id, index) => {
      const t = turn(id);
      if (!t) return;
      const li = el("li", "chat-turn");
      li.dataset.turnId = String(id);
      li.dataset.focusKey = `turn-${index}`;
      li.tabIndex = -1;
      const isLeaf = !state.branch && id === leafId();
      li.classList.toggle("selected", state.selected === index);
      li.classList.toggle("current", isLeaf);
      li.setAttribute("aria-current", isLeaf ? "step" : "false");
      const head = el("div", "chat-turn-head");
      head.append(el("span", "chat-turn-number", `Turn ${index + 1}`));
      const nav = branchSwitch(t, index);
      if (nav) head.append(nav);
      if (!isLeaf && t.author !== "item") {
        const branch = el("button", "secondary chat-branch-here");
        branch.type = "button";
        branch.append("Branch here ", kbd("b"));
        branch.setAttribute("aria-label", `Branch at turn ${index + 1}: write a different message in its place`);
        branch.dataset.focusKey = `branch-${index}`;
        branch.addEventListener("click", () => startBranch(index));
        head.append(branch);
      }
      li.append(head, userBubble(t, index));
      if (!isLeaf) {
        const answer = answerBubble(t);
        if (answer) li.append(answer);
      }
      li.addEventListener("click", (event) => {
        if (event.target.closest("button")) return;
        state.selected = index === state.path.length - 1 ? null : index;
        markSelected();
      });
      items.push(li);
    });
    pathList.replaceChildren(...items);
    if (state.branch) {
      const from = turn(state.branch.from);
      const li = el("li", "chat-turn chat-branch-note");
      li.append(
        el(
          "p",
          "chat-author",
          `New branch: write a different message in place of turn ${from ? pathTo(from.turn_id).length : "?"}. The earlier branch stays; switch back with ‹ ›.`,
        ),
      );
      pathList.append(li);
    }
  }

  function markSelected() {
    for (const li of pathList.querySelectorAll(".chat-turn[data-turn-id]")) {
      const index = Number(li.dataset.focusKey.slice(5));
      li.classList.toggle("selected", state.selected === index);
    }
  }

  function candidateCard(t, c, j, locked) {
    const card = el("article", `chat-candidate state-${c.state}`);
    card.dataset.candidateId = String(c.id);
    card.dataset.letter = c.letter;
    card.dataset.focusKey = `cand-${c.id}`;
    card.tabIndex = 0;
    card.dataset.enter = "submit";
    const title = el("h3", "chat-candidate-title");
    title.append(kbd(String(LETTERS.indexOf(c.letter) + 1)), ` Answer ${c.letter}`);
    const mark = el("span", "chat-candidate-mark");
    if (judgeKind === "preference") {
      if (j.preferred === c.id) mark.textContent = "Preferred";
      else if (j.preferred === "tie") mark.textContent = "Tie";
    } else if (j.places.get(c.id)) mark.textContent = ordinal(j.places.get(c.id));
    title.append(mark);
    card.append(title);
    const body = el("div", "chat-text chat-candidate-body");
    body.dataset.body = String(c.id);
    if (c.state === "pending") {
      body.classList.add("pre");
      body.textContent = c.content || "";
      card.setAttribute("aria-busy", "true");
    } else if (c.state === "failed") {
      body.append(el("p", "chat-candidate-error", `This answer failed: ${c.error || "the model gave no answer"}`));
    } else {
      body.classList.add("md");
      body.append(renderMarkdown(c.content || ""));
    }
    card.append(body);
    const picked = judgeKind === "preference" ? j.preferred === c.id : j.places.get(c.id) === 1;
    card.classList.toggle("picked", Boolean(picked));
    let label = `Answer ${c.letter}`;
    if (c.state === "pending") label += ", still coming in";
    else if (c.state === "failed") label += ", failed";
    else if (judgeKind === "preference") label += j.preferred === c.id ? ", preferred" : "";
    else label += j.places.get(c.id) ? `, ranked ${ordinal(j.places.get(c.id))}` : ", not ranked";
    card.setAttribute("aria-label", label);
    if (!locked && c.state === "done") {
      card.addEventListener("click", (event) => {
        if (event.target.closest("a, button")) return;
        if (judgeKind === "preference") choose(c.id);
        else rankNext(c.id);
      });
    }
    return card;
  }

  function strengthGroup(j, locked) {
    const group = el("div", "chat-strength");
    group.setAttribute("role", "radiogroup");
    group.setAttribute("aria-label", "How much better");
    for (let k = 1; k <= strengths; k += 1) {
      const button = el("button", "option chat-strength-option");
      button.type = "button";
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", String(j.strength === k));
      button.dataset.focusKey = `strength-${k}`;
      button.dataset.enter = "submit";
      button.disabled = locked || typeof j.preferred !== "number";
      button.append(kbd(`Shift+${k}`), " ", strengthWord(k, strengths));
      button.addEventListener("click", () => setStrength(k));
      group.append(button);
    }
    return group;
  }

  function ratingGroup(j, locked) {
    const group = el("div", "chat-rating");
    group.setAttribute("role", "radiogroup");
    group.setAttribute("aria-label", "Rating of the chosen answer");
    group.append(el("span", "chat-rating-label", "Rating "));
    for (let v = ratingScale.min; v <= ratingScale.max; v += 1) {
      const button = el("button", "option chat-rating-option", String(v));
      button.type = "button";
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", String(j.rating === v));
      button.dataset.focusKey = `rating-${v}`;
      button.dataset.enter = "submit";
      button.dataset.rating = String(v);
      button.disabled = locked;
      button.addEventListener("click", () => setRating(v));
      group.append(button);
    }
    return group;
  }

  function renderCurrent() {
    const t = state.branch ? null : turn(leafId());
    current.replaceChildren();
    current.hidden = !t;
    if (!t) return;
    const j = localOf(t);
    const locked = state.busy || frozen(t) || !isDone(t);
    const cands = shown(t);
    const grid = el("div", `chat-candidates candidates-${Math.min(cands.length, 4)}`);
    for (const c of cands) grid.append(candidateCard(t, c, j, locked));
    current.append(grid);
    const controls = el("div", "chat-controls");
    if (isDone(t)) {
      if (judgeKind === "preference") {
        if (tiesAllowed) {
          const tie = el("button", "option chat-tie");
          tie.type = "button";
          tie.setAttribute("aria-pressed", String(j.preferred === "tie"));
          tie.dataset.focusKey = "tie";
          tie.dataset.enter = "submit";
          tie.disabled = locked;
          tie.append(kbd("t"), " Tie");
          tie.addEventListener("click", () => choose("tie"));
          controls.append(tie);
        }
        if (strengths > 1) controls.append(strengthGroup(j, locked));
      }
      if (ratingScale) controls.append(ratingGroup(j, locked));
      if (rewriteAllowed) {
        const edit = el("button", "secondary chat-edit");
        edit.type = "button";
        edit.dataset.focusKey = "edit";
        edit.disabled = locked || chosenId(t) === null;
        edit.append(rewriteOf(t) !== null ? "Edit your rewrite " : "Rewrite the chosen answer ", kbd("e"));
        edit.addEventListener("click", openRewrite);
        controls.append(edit);
      }
      current.append(controls);
      if (frozen(t)) current.append(el("p", "hint", "This turn has later turns, so its judgement is fixed: branch from it instead."));
    }
    if (rewriteAllowed && (state.editing || rewriteOf(t) !== null) && chosenId(t) !== null && isDone(t)) {
      const wrap = el("div", "chat-rewrite");
      const label = el("label", "chat-rewrite-label", `Your rewrite of answer ${(cands.find((c) => c.id === chosenId(t)) || {}).letter} (written by you)`);
      const area = el("textarea", "chat-rewrite-input");
      area.id = nextId("rewrite");
      label.htmlFor = area.id;
      area.rows = 5;
      area.dataset.focusKey = "rewrite";
      area.disabled = locked;
      const chosen = cands.find((c) => c.id === chosenId(t));
      area.value = typeof state.rewrites[t.turn_id] === "string" ? state.rewrites[t.turn_id] : (chosen && chosen.content) || "";
      area.addEventListener("input", () => {
        state.rewrites[t.turn_id] = area.value;
        changed();
      });
      area.addEventListener("keydown", (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          closeRewrite(true);
        }
      });
      area.addEventListener("blur", () => storeSoon(t));
      const row = el("div", "chat-rewrite-row");
      const drop = el("button", "secondary chat-rewrite-drop", "Discard the rewrite");
      drop.type = "button";
      drop.dataset.focusKey = "rewrite-drop";
      drop.disabled = locked;
      drop.addEventListener("click", () => {
        delete state.rewrites[t.turn_id];
        state.editing = false;
        changed();
        render("cand-" + chosenId(t));
        storeSoon(t);
      });
      row.append(drop, el("span", "hint", "Esc leaves the box; the rewrite is kept."));
      wrap.append(label, area, row);
      current.append(wrap);
    }
  }

  function renderComposer() {
    const leaf = turn(leafId());
    const parent = state.branch ? state.branch.parent : leaf ? leaf.turn_id : null;
    const parentTurn = parent === null ? null : turn(parent);
    const depth = parent === null ? 0 : pathTo(parent).length;
    let why = "";
    if (state.busy) why = "The answers are coming in…";
    else if (depth >= maxTurns) why = `This conversation has reached its ${maxTurns} turns: submit it.`;
    else if (parentTurn && hasFailed(parentTurn)) why = "An answer of the last turn failed: retry it (r) or branch.";
    else if (parentTurn && !judgementOf(parentTurn) && !frozen(parentTurn)) why = judgeKind === "ranking" ? "Rank the answers above, then write your next message." : "Choose the better answer above, then write your next message.";
    const needsItem = !state.path.length && !state.branch && question.input;
    composerBox.hidden = Boolean(needsItem);
    composerLabel.textContent = state.branch ? `A different message in place of turn ${depth + 1}` : state.path.length ? "Your next message" : "Your first message";
    composerHint.replaceChildren(why || "", why ? " " : "", kbd("Enter"), " sends · ", kbd("Shift+Enter"), " new line · ", kbd("Esc"), " leaves the box");
    sendButton.disabled = state.busy || depth >= maxTurns;
    cancelBranch.hidden = !state.branch;
    composerBox.classList.toggle("blocked", Boolean(why));
  }

  function render(focusKey) {
    box.dataset.busy = String(state.busy);
    box.dataset.turn = leafId() === null ? "" : String(leafId());
    const active = document.activeElement;
    const key = focusKey || (active && box.contains(active) && active.dataset ? active.dataset.focusKey : null);
    renderPath();
    renderCurrent();
    renderComposer();
    const leaf = turn(leafId());
    if (!state.busy && !state.branch && leaf && hasFailed(leaf)) {
      const bad = shown(leaf).filter((c) => c.state === "failed");
      showFailure(
        `${bad.map((c) => `Answer ${c.letter} failed: ${c.error || "the model gave no answer"}`).join(". ")}. ` +
          "Retry asks the models again for the same message (the failed turn stays aside).",
        retryTurn,
      );
    } else if (state.error || state.saveError) {
      // The item's opening turn that could not be made is asked for again from here.
      const opening = !state.path.length && !state.branch && question.input && !state.busy;
      showFailure(state.error || state.saveError, opening && state.error ? startItem : null);
    }
    else showFailure("");
    if (key) {
      const target = box.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
      if (target && !target.disabled) target.focus();
      else if (key === "composer" || key === "send") composer.focus();
    }
  }

  // ----- actions
  function leafTurn() {
    return state.branch ? null : turn(leafId());
  }

  function editable() {
    const t = leafTurn();
    return t && !state.busy && isDone(t) && !frozen(t) ? t : null;
  }

  function judged(t, focusKey) {
    changed("key");
    render(focusKey);
    storeSoon(t);
    if (judgementOf(t)) say("Judged. Write your next message (c), or press Enter outside a text box to submit.");
  }

  function choose(cid) {
    const t = editable();
    if (!t) return;
    const j = localOf(t);
    if (cid === "tie" && !tiesAllowed) return;
    j.preferred = cid;
    if (cid === "tie") j.strength = undefined;
    judged(t, cid === "tie" ? "tie" : strengths > 1 && !j.strength ? "strength-1" : `cand-${cid}`);
  }

  function setStrength(k) {
    const t = editable();
    if (!t || k < 1 || k > strengths) return;
    const j = localOf(t);
    if (typeof j.preferred !== "number") return;
    j.strength = k;
    judged(t, `strength-${k}`);
  }

  function setRating(v) {
    const t = editable();
    if (!t || !ratingScale || v < ratingScale.min || v > ratingScale.max) return;
    localOf(t).rating = v;
    judged(t, `rating-${v}`);
  }

  function rank(cid, place) {
    const t = editable();
    if (!t) return;
    const j = localOf(t);
    if (place === 0) j.places.delete(cid);
    else j.places.set(cid, place);
    const waiting = shown(t).find((c) => !j.places.get(c.id));
    judged(t, waiting ? `cand-${waiting.id}` : `cand-${cid}`);
  }

  // A click ranks a candidate next after those already ranked.
  function rankNext(cid) {
    const t = editable();
    if (!t) return;
    const j = localOf(t);
    if (j.places.get(cid)) return rank(cid, 0);
    const used = Array.from(j.places.values());
    return rank(cid, used.length ? Math.max(...used) + 1 : 1);
  }

  function openRewrite() {
    const t = editable();
    if (!t || !rewriteAllowed || chosenId(t) === null) return;
    state.editing = true;
    render("rewrite");
    const area = box.querySelector(".chat-rewrite-input");
    if (area) {
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    }
  }

  function closeRewrite(keep) {
    const t = leafTurn();
    state.editing = false;
    if (t) {
      changed();
      render(`cand-${chosenId(t)}`);
      if (keep) storeSoon(t);
    }
  }

  function startBranch(index) {
    const t = turn(state.path[index]);
    if (!t || state.busy || t.author === "item") return;
    state.branch = { from: t.turn_id, parent: t.parent ?? null };
    state.selected = null;
    state.editing = false;
    if (!composer.value.trim()) composer.value = t.content || "";
    changed();
    render("composer");
    composer.focus();
    say(`Branching at turn ${index + 1}: write a different message and press Enter.`);
  }

  function stopBranch() {
    state.branch = null;
    changed();
    render("composer");
  }

  function switchBranch(index, direction) {
    const t = turn(state.path[index]);
    if (!t || state.busy) return;
    const sibs = siblingsOf(t);
    const at = sibs.findIndex((s) => s.turn_id === t.turn_id) + direction;
    if (at < 0 || at >= sibs.length) return;
    state.branch = null;
    state.editing = false;
    state.path = pathTo(descend(sibs[at].turn_id));
    state.selected = index < state.path.length - 1 ? index : null;
    changed();
    render(`turn-${index}`);
    say(`Branch ${at + 1} of ${sibs.length} at turn ${index + 1}.`);
  }

  function moveSelection(direction) {
    if (!state.path.length) return;
    const last = state.path.length - 1;
    let at = state.selected === null ? last : state.selected;
    at = Math.max(0, Math.min(last, at + direction));
    state.selected = at === last ? null : at;
    markSelected();
    const li = pathList.querySelector(`[data-focus-key="turn-${at}"]`);
    if (li) {
      li.focus();
      li.scrollIntoView({ block: "nearest" });
    }
  }

  function focusComposer() {
    composer.focus();
    composer.setSelectionRange(composer.value.length, composer.value.length);
  }

  async function sendTurn() {
    if (state.busy || !state.loaded) return;
    const content = composer.value;
    const parent = state.branch ? state.branch.parent : leafId();
    const parentTurn = parent === null ? null : turn(parent);
    if (parentTurn && !frozen(parentTurn)) {
      if (hasFailed(parentTurn)) {
        showFailure("An answer of the last turn failed: retry it first, or branch from an earlier turn.", retryTurn);
        return;
      }
      if (!judgementOf(parentTurn)) {
        widget.showProblem(widget.missingText());
        return;
      }
    }
    if (!content.trim()) {
      say("Write a message first.");
      focusComposer();
      return;
    }
    if (parent !== null && pathTo(parent).length >= maxTurns) {
      widget.showProblem(`This conversation has reached its ${maxTurns} turns: submit it.`);
      return;
    }
    if (parentTurn && !(await store(parentTurn))) return;
    await generate({ content, parent }, () => {
      composer.value = "";
      state.branch = null;
    });
  }

  function startItem() {
    if (!state.busy) generate({ parent: null }, () => {});
  }

  async function retryTurn() {
    const t = turn(leafId());
    if (!t && !state.path.length && question.input && state.error) return startItem();
    if (state.busy || !t || !hasFailed(t)) return;
    const body = { parent: t.parent ?? null };
    if (t.author !== "item") body.content = t.content;
    await generate(body, () => {});
    if (t.author === "item") {
      // The item's failed turn is made again in its place (not beside it): take the tree anew.
      try {
        take(await api.chatTurns(assignmentId));
        choosePath();
        render();
      } catch (err) {
        // The turn on screen is the new one either way.
      }
    }
  }

  // POST a user turn and follow its candidates as they stream in.
  async function generate(body, onStarted) {
    state.busy = true;
    state.error = "";
    widget.clearProblem();
    const before = composer.value;
    onStarted();
    changed();
    let started = null;
    // Keys pressed while the answers come in go to them, never into the emptied message box.
    render(box.contains(document.activeElement) ? "current" : undefined);
    say("Asking the models…");
    const onEvent = (name, data) => {
      if (name === "turn" && data && Number.isInteger(data.turn_id)) {
        started = {
          turn_id: data.turn_id,
          parent: data.parent ?? null,
          content: data.content ?? body.content ?? "",
          author: body.content === undefined ? "item" : "human",
          candidates: (data.candidates || []).map((c) => ({ ...c, content: "", state: c.state || "pending" })),
          judgement: null,
          children: [],
        };
        state.turns.set(started.turn_id, started);
        const parentTurn = started.parent === null ? null : turn(started.parent);
        if (parentTurn && Array.isArray(parentTurn.children) && !parentTurn.children.includes(started.turn_id)) {
          parentTurn.children.push(started.turn_id);
        }
        state.path = pathTo(started.turn_id);
        state.selected = null;
        render(box.contains(document.activeElement) ? "current" : undefined);
      } else if (name === "delta" && started && data) {
        const c = started.candidates.find((x) => x.id === data.id);
        if (!c) return;
        const text = typeof data.text === "string" ? data.text : "";
        c.content += text;
        // Appended as a text node: inert, and no re-render of what came before.
        const node = current.querySelector(`[data-body="${CSS.escape(String(data.id))}"]`);
        if (node && text) node.append(text);
      } else if (name === "candidate" && started && data) {
        const c = started.candidates.find((x) => x.id === data.id);
        if (!c) return;
        Object.assign(c, data);
        const letter = LETTERS[started.candidates.indexOf(c) % 26];
        say(c.state === "failed" ? `Answer ${letter} failed.` : `Answer ${letter} is complete.`);
        render();
      }
    };
    try {
      const stored = await api.postTurn(assignmentId, body, onEvent);
      if (stored && Number.isInteger(stored.turn_id)) {
        state.turns.set(stored.turn_id, { ...stored, author: stored.author || (body.content === undefined ? "item" : "human") });
        const parentTurn = stored.parent === null || stored.parent === undefined ? null : turn(stored.parent);
        if (parentTurn && Array.isArray(parentTurn.children) && !parentTurn.children.includes(stored.turn_id)) {
          parentTurn.children.push(stored.turn_id);
        }
        state.path = pathTo(stored.turn_id);
      }
      state.busy = false;
      const t = turn(leafId());
      changed();
      // Focus follows only if it is still in this question (the annotator may have gone elsewhere).
      const here = box.contains(document.activeElement) || document.activeElement === document.body;
      if (t && hasFailed(t)) {
        say("An answer failed: see the message, then retry.");
        render(here ? "retry" : undefined);
      } else {
        say(
          judgeKind === "ranking"
            ? "The answers are in: rank them with 1–9 on each."
            : "The answers are in: choose the better one with 1 or 2.",
        );
        const first = t ? shown(t)[0] : null;
        render(first && here ? `cand-${first.id}` : undefined);
      }
    } catch (err) {
      state.busy = false;
      if (started) {
        // Nothing was stored: forget the turn the stream announced.
        state.turns.delete(started.turn_id);
        state.path = started.parent === null ? [] : pathTo(started.parent);
      }
      if (!composer.value && before) composer.value = before;
      if (body.content !== undefined && !composer.value) composer.value = body.content;
      state.error =
        body.content === undefined
          ? `The opening message was not answered: ${err.message}. Retry asks again.`
          : `The message was not answered: ${err.message}. Your text is still in the box: press Enter to try again.`;
      changed();
      render("composer");
      say("The message was not answered.");
    }
  }

  // ----- loading the tree
  // The path to show: the one on screen while its last turn exists, else the draft's, else the
  // newest turn's.
  function choosePath() {
    const onScreen = leafId();
    let want = onScreen !== null && state.turns.has(onScreen) ? onScreen : null;
    if (want === null && state.wantHead !== null && state.turns.has(state.wantHead)) want = state.wantHead;
    if (want !== null) state.path = pathTo(want);
    else if (state.turns.size) {
      const newest = Math.max(...state.turns.keys());
      state.path = pathTo(newest);
    } else state.path = [];
    if (state.branch && state.branch.from !== undefined && !state.turns.has(state.branch.from)) state.branch = null;
  }

  function take(answer) {
    state.turns = new Map();
    for (const t of (answer && answer.turns) || []) {
      state.turns.set(t.turn_id, t);
      if (t.judgement) state.saved.set(t.turn_id, JSON.stringify(t.judgement));
    }
  }

  // A turn still being made when the page was loaded (a reload mid-answer): its text is not
  // streamed to this page, so ask for the tree again until it is complete.
  function followPending() {
    const t = turn(leafId());
    if (!t || !shown(t).some((c) => c.state === "pending")) return;
    say("The answers to your last message are still being written…");
    setTimeout(async () => {
      if (!box.isConnected || state.busy) return;
      try {
        take(await api.chatTurns(assignmentId));
      } catch (err) {
        return;
      }
      choosePath();
      render();
      followPending();
    }, 1500);
  }

  async function load() {
    try {
      take(await api.chatTurns(assignmentId));
      state.loaded = true;
      choosePath();
      const hadFocus = !document.activeElement || document.activeElement === document.body || document.activeElement === box;
      render();
      box.dataset.ready = "true";
      if (!state.turns.size && question.input) {
        // The item fixes the first user turn: ask for its answers straight away.
        await generate({ parent: null }, () => {});
      } else if (hadFocus) widget.focus();
      followPending();
    } catch (err) {
      state.error = `The conversation could not be loaded: ${err.message}. Reload the page to try again.`;
      render();
      box.dataset.ready = "error";
    }
  }

  // ----- keys and events
  composer.addEventListener("input", () => changed());
  composer.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      sendTurn();
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (state.branch && composer.value === (turn(state.branch.from) || {}).content) stopBranch();
      const t = leafTurn();
      const first = t ? shown(t)[0] : null;
      const target = first ? box.querySelector(`[data-focus-key="cand-${first.id}"]`) : null;
      (target || box).focus();
    }
  });
  sendButton.addEventListener("click", sendTurn);
  cancelBranch.addEventListener("click", stopBranch);

  widget.focus = () => {
    const t = leafTurn();
    if (state.loaded && t && isDone(t) && !judgementOf(t) && !frozen(t)) {
      const first = shown(t)[0];
      const target = box.querySelector(`[data-focus-key="cand-${first.id}"]`);
      if (target) return target.focus();
    }
    if (state.loaded && !composerBox.hidden && !state.busy) return focusComposer();
    box.focus();
  };

  widget.onKey = (event) => {
    if (!state.loaded) return false;
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        moveSelection(event.key === "ArrowUp" ? -1 : 1);
        return true;
      }
      return false;
    }
    if (event.ctrlKey || event.metaKey) return false;
    const t = leafTurn();
    const digit = digitOf(event);
    const active = document.activeElement;
    if (event.shiftKey && digit !== null && judgeKind === "preference" && strengths > 1) {
      setStrength(digit);
      return true;
    }
    if (event.shiftKey) return false;
    if (digit !== null) {
      if (active && active.closest && active.closest(".chat-rating") && ratingScale) {
        setRating(digit);
        return true;
      }
      if (!t) return false;
      const cands = shown(t);
      if (judgeKind === "preference") {
        if (digit < 1 || digit > cands.length) return false;
        choose(cands[digit - 1].id);
        return true;
      }
      if (digit > cands.length) return false;
      const focused = active && active.dataset ? Number(active.dataset.candidateId) : NaN;
      const j = localOf(t);
      const target = cands.find((c) => c.id === focused) || cands.find((c) => !j.places.get(c.id));
      if (!target) return false;
      rank(target.id, digit);
      return true;
    }
    const key = event.key.toLowerCase();
    if (key === "t" && judgeKind === "preference" && tiesAllowed) {
      choose("tie");
      return true;
    }
    if (key === "e" && rewriteAllowed) {
      openRewrite();
      return true;
    }
    if (key === "g" && ratingScale) {
      const target = box.querySelector(".chat-rating-option:not([disabled])");
      if (target) target.focus();
      return true;
    }
    if (key === "c") {
      focusComposer();
      return true;
    }
    if (key === "r") {
      retryTurn();
      return true;
    }
    if (key === "b") {
      const index = state.selected === null ? state.path.length - 1 : state.selected;
      if (index >= 0) startBranch(index);
      return true;
    }
    if (key === "," || key === ".") {
      const index = state.selected === null ? state.path.length - 1 : state.selected;
      if (index >= 0) switchBranch(index, key === "," ? -1 : 1);
      return true;
    }
    return false;
  };

  render();
  if (assignmentId !== undefined && assignmentId !== null) load();
  return widget;
}
