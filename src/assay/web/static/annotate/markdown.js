// A small Markdown subset rendered straight to DOM nodes, for untrusted item content.
//
// Nothing here parses HTML: every piece of the source ends up in a text node or in one of a few
// whitelisted elements built with createElement.  Raw HTML therefore shows as the characters it
// is made of.  A link keeps its target only when that is an absolute http(s) URL with a host (the
// server's renderer, web/render.py, has the same rule): relative and protocol-relative ("//host")
// targets, mailto: and every other scheme keep their words and lose the link.  Kept links open in a
// new tab without a referrer.  Images are never loaded (a remote image would tell its host who reads
// which item): their alt text and address are shown as text instead.
//
// The source is untrusted, so every pattern here runs in linear time (no pattern can backtrack
// over a long run of one character), and no scan restarts from every position.

const SAFE_SCHEME = /^https?:\/\//i;

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// Find the closing bracket of a link/image label starting at `open` ("["), allowing nesting.
function closeBracket(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    const c = text[i];
    if (c === "\\") i += 1;
    else if (c === "[") depth += 1;
    else if (c === "]") {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

// "(url "title")" right after a label: the url and where the whole thing ends.
function destination(text, at) {
  if (text[at] !== "(") return null;
  let depth = 0;
  for (let i = at; i < text.length; i += 1) {
    const c = text[i];
    if (c === "(") depth += 1;
    else if (c === ")") {
      depth -= 1;
      if (depth === 0) {
        const inner = text.slice(at + 1, i).trim();
        const url = inner.split(/\s+/)[0].replace(/^<(.*)>$/, "$1");
        return { url, end: i + 1 };
      }
    } else if (c === "\n" && text[i + 1] === "\n") return null;
  }
  return null;
}

// Whether a link target may be kept: an absolute http(s) URL with a host.
export function isSafeUrl(url) {
  const trimmed = String(url ?? "").trim();
  if (!SAFE_SCHEME.test(trimmed)) return false;
  try {
    const parsed = new URL(trimmed);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "";
  } catch {
    return false;
  }
}

export function safeLink(url, label) {
  const trimmed = url.trim();
  if (!isSafeUrl(trimmed)) return null;
  const a = el("a");
  a.href = trimmed;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  a.referrerPolicy = "no-referrer";
  a.title = trimmed;
  if (label) a.append(...label);
  else a.textContent = trimmed;
  return a;
}

const EMPHASIS = [
  ["**", "strong"],
  ["__", "strong"],
  ["~~", "del"],
  ["*", "em"],
  ["_", "em"],
];

const TICKS = /`+/y;
const AUTOLINK = /<(https?:\/\/[^\s<>]+)>/iy;

// Inline content: code spans, links, images (as text), emphasis, hard line breaks.
export function inline(text) {
  const out = [];
  let plain = "";
  // Marks found to have no closer after some position: later openers of that mark need not search.
  const unclosed = new Map();
  const flush = () => {
    if (plain) out.push(document.createTextNode(plain));
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && /[\\`*_{}[\]()#+\-.!~<>|]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "\n") {
      flush();
      out.push(el("br"));
      i += 1;
      continue;
    }
    if (c === "`") {
      TICKS.lastIndex = i;
      const ticks = TICKS.exec(text)[0];
      const close = text.indexOf(ticks, i + ticks.length);
      if (close > 0) {
        flush();
        const code = el("code");
        code.textContent = text.slice(i + ticks.length, close).replace(/\n/g, " ");
        out.push(code);
        i = close + ticks.length;
        continue;
      }
      plain += ticks;
      i += ticks.length;
      continue;
    }
    if (c === "!" && text[i + 1] === "[") {
      const close = closeBracket(text, i + 1);
      const dest = close > 0 ? destination(text, close + 1) : null;
      if (dest) {
        flush();
        const note = el("span", "md-image");
        const alt = text.slice(i + 2, close);
        note.textContent = `[image${alt ? `: ${alt}` : ""}] (${dest.url})`;
        out.push(note);
        i = dest.end;
        continue;
      }
    }
    if (c === "[") {
      const close = closeBracket(text, i);
      const dest = close > 0 ? destination(text, close + 1) : null;
      if (dest) {
        flush();
        const label = inline(text.slice(i + 1, close));
        const link = safeLink(dest.url, label);
        if (link) out.push(link);
        else {
          // An unsafe target (javascript:, data:, a relative path): keep the words, drop the link.
          const span = el("span", "md-dead-link");
          span.append(...label);
          span.title = `link not opened: ${dest.url}`;
          out.push(span);
        }
        i = dest.end;
        continue;
      }
    }
    if (c === "<") {
      AUTOLINK.lastIndex = i;
      const auto = AUTOLINK.exec(text);
      if (auto) {
        flush();
        out.push(safeLink(auto[1], null));
        i += auto[0].length;
        continue;
      }
    }
    let matched = false;
    for (const [mark, tag] of EMPHASIS) {
      if (!text.startsWith(mark, i)) continue;
      const next = text[i + mark.length];
      if (!next || /\s/.test(next)) continue;
      // Intraword underscores (snake_case) are not emphasis.
      if (mark[0] === "_" && i > 0 && /\w/.test(text[i - 1])) continue;
      if (unclosed.has(mark) && unclosed.get(mark) <= i) continue;
      let close = text.indexOf(mark, i + mark.length + 1);
      while (close > 0 && /\s/.test(text[close - 1])) close = text.indexOf(mark, close + 1);
      if (close < 0) {
        unclosed.set(mark, i);
        continue;
      }
      if (text.slice(i, close).includes("\n\n")) continue;
      flush();
      const node = el(tag);
      node.append(...inline(text.slice(i + mark.length, close)));
      out.push(node);
      i = close + mark.length;
      matched = true;
      break;
    }
    if (matched) continue;
    plain += c;
    i += 1;
  }
  flush();
  return out;
}

// Each pattern matches at the start of a line and then takes the rest of it whole ([^]*), so none
// can backtrack: a heading's closing hashes and a table's separator are taken apart by code.
const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([\w+-]*)/;
const HEADING = /^ {0,3}(#{1,6})[ \t]+([^]*)$/;
const BULLET = /^ {0,3}([-*+])[ \t]+([^]*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)][ \t]+([^]*)$/;
const QUOTE = /^ {0,3}>[ \t]?([^]*)$/;
const SEP_CELL = /^:?-+:?$/;

// "## Title ##" -> "Title": trailing spaces, then a closing run of # after a space.
function headingText(text) {
  let end = text.length;
  while (end > 0 && /\s/.test(text[end - 1])) end -= 1;
  let hashes = end;
  while (hashes > 0 && text[hashes - 1] === "#") hashes -= 1;
  if (hashes < end && (hashes === 0 || /\s/.test(text[hashes - 1]))) end = hashes;
  while (end > 0 && /\s/.test(text[end - 1])) end -= 1;
  return text.slice(0, end);
}

// A thematic break: three or more of one of - * _, with only spaces between.
function isRule(line) {
  const body = line.replace(/^ {0,3}/, "");
  const mark = body[0];
  if (mark !== "-" && mark !== "*" && mark !== "_") return false;
  let count = 0;
  for (const c of body) {
    if (c === mark) count += 1;
    else if (c !== " " && c !== "\t") return false;
  }
  return count >= 3;
}

function isTableSep(line) {
  const row = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  return row.split("|").every((cell) => SEP_CELL.test(cell.trim()));
}

function cells(line) {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

function table(lines) {
  const node = el("table");
  const head = el("thead");
  const row = el("tr");
  for (const cell of cells(lines[0])) {
    const th = el("th");
    th.append(...inline(cell));
    row.append(th);
  }
  head.append(row);
  node.append(head);
  const body = el("tbody");
  for (const line of lines.slice(2)) {
    const tr = el("tr");
    for (const cell of cells(line)) {
      const td = el("td");
      td.append(...inline(cell));
      tr.append(td);
    }
    body.append(tr);
  }
  node.append(body);
  return node;
}

function list(lines, start, ordered) {
  const pattern = ordered ? ORDERED : BULLET;
  const node = el(ordered ? "ol" : "ul");
  const first = pattern.exec(lines[start]);
  if (ordered && first[1] !== "1") node.start = Number(first[1]);
  const items = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const m = pattern.exec(line);
    if (m) items.push([m[2]]);
    else if (line.trim() && /^\s{2,}/.test(line)) items[items.length - 1].push(line.trim());
    else break;
    i += 1;
  }
  for (const item of items) {
    const li = el("li");
    li.append(...inline(item.join("\n")));
    node.append(li);
  }
  return { node, next: i };
}

// Render Markdown source into a fragment of whitelisted elements and text nodes.
export function renderMarkdown(source) {
  const frag = document.createDocumentFragment();
  const lines = String(source ?? "")
    .replace(/\r\n?/g, "\n")
    .split("\n");
  let i = 0;
  let para = [];
  const flushPara = () => {
    if (!para.length) return;
    const p = el("p");
    p.append(...inline(para.join("\n")));
    frag.append(p);
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      flushPara();
      i += 1;
    } else if ((m = FENCE.exec(line))) {
      flushPara();
      const fence = m[1];
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) {
        body.push(lines[i]);
        i += 1;
      }
      i += 1;
      const pre = el("pre");
      const code = el("code");
      if (m[2]) code.dataset.lang = m[2];
      code.textContent = body.join("\n");
      pre.append(code);
      frag.append(pre);
    } else if ((m = HEADING.exec(line))) {
      flushPara();
      // Item headings sit inside the page's own structure: shift them below its h2.
      const h = el(`h${Math.min(6, m[1].length + 2)}`, "md-heading");
      h.append(...inline(headingText(m[2])));
      frag.append(h);
      i += 1;
    } else if (isRule(line) && !para.length) {
      frag.append(el("hr"));
      i += 1;
    } else if (BULLET.test(line) || ORDERED.test(line)) {
      flushPara();
      const { node, next } = list(lines, i, !BULLET.test(line));
      frag.append(node);
      i = next;
    } else if (QUOTE.test(line)) {
      flushPara();
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        body.push(QUOTE.exec(lines[i])[1]);
        i += 1;
      }
      const quote = el("blockquote");
      quote.append(renderMarkdown(body.join("\n")));
      frag.append(quote);
    } else if (line.includes("|") && i + 1 < lines.length && isTableSep(lines[i + 1])) {
      flushPara();
      const rows = [];
      while (i < lines.length && lines[i].includes("|")) {
        rows.push(lines[i]);
        i += 1;
      }
      frag.append(table(rows));
    } else {
      para.push(line);
      i += 1;
    }
  }
  flushPara();
  return frag;
}
