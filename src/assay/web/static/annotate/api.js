// The JSON API as the annotation screen uses it: session cookie + CSRF header, one error shape.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }

  // The per-field problems of a 422, as [{loc, msg, question?}].
  get problems() {
    return Array.isArray(this.body.errors) ? this.body.errors : [];
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The server's clock minus ours, in ms, from the Date header (whole seconds; good enough for a
// lease timer counted in minutes, and it keeps a wrong local clock from hiding an expiry).
let skew = 0;

export function serverNow() {
  return Date.now() + skew;
}

async function call(method, path, body, headers = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...headers },
  };
  if (method !== "GET") {
    init.headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: "the server could not be reached; check the connection and retry" });
  }
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) skew = date - Date.now();
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// How long a lease has left, counted from the server's own reading of its clock in the lease
// (server_time), never from the client's clock or the Date header (whole seconds, and cached
// for up to a second by the server: together they showed 10:02 left on a 600 s lease).  The
// time since the lease arrived is measured with the monotonic clock, and the result is capped at
// the project's lease length.
function stampLease(lease) {
  if (!lease) return lease;
  const expires = Date.parse(lease.expires_at);
  const told = Date.parse(lease.server_time);
  let left = expires - (Number.isNaN(told) ? serverNow() : told);
  if (Number.isFinite(lease.lease_seconds)) left = Math.min(left, lease.lease_seconds * 1000);
  Object.defineProperty(lease, "clock", { value: { left, at: performance.now() }, enumerable: false });
  return lease;
}

export function leaseLeft(lease) {
  if (!lease || !lease.clock) return Number.NaN;
  return lease.clock.left - (performance.now() - lease.clock.at);
}

export async function nextLease(projectId) {
  return stampLease(await call("GET", `/api/v1/projects/${encodeURIComponent(projectId)}/next`));
}

export function getProject(projectId) {
  return call("GET", `/api/v1/projects/${encodeURIComponent(projectId)}`);
}

// Exactly-once submit: the key is kept per assignment and body, so a retry after a lost answer
// replays the first result instead of storing the answers twice.
const keys = new Map();

export function submit(assignmentId, answers, durationMs, client = null) {
  const body = { answers, duration_ms: durationMs };
  if (client) body.client = client;
  const text = JSON.stringify(body);
  let entry = keys.get(assignmentId);
  if (!entry || entry.text !== text) {
    entry = { text, key: newKey() };
    keys.set(assignmentId, entry);
  }
  return call("POST", `/api/v1/assignments/${assignmentId}/submit`, body, {
    "Idempotency-Key": entry.key,
  });
}

export function skip(assignmentId) {
  return call("POST", `/api/v1/assignments/${assignmentId}/skip`);
}

export function revise(annotationId, answers) {
  return call("POST", `/api/v1/annotations/${annotationId}/revise`, { answers });
}

// Undo needs a server route that corrects one's own answer while its lease holds; older servers
// have none, and the screen then hides the undo button instead of offering something that fails.
export async function canRevise() {
  try {
    const spec = await call("GET", "/api/v1/openapi.json");
    return Boolean(spec && spec.paths && spec.paths["/api/v1/annotations/{annotation_id}/revise"]);
  } catch (err) {
    return false;
  }
}

// Live chat (a question of kind chat): the tree of turns of one assignment, a judgement per turn,
// and a new user turn whose candidates stream in as server-sent events.
export function chatTurns(assignmentId) {
  return call("GET", `/api/v1/assignments/${assignmentId}/turns`);
}

export function judgeTurn(assignmentId, turnId, judgement) {
  return call("PUT", `/api/v1/assignments/${assignmentId}/turns/${turnId}`, judgement);
}

// One server-sent event block ("event: x\ndata: ...\n") as {event, data}; data is JSON.
function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { event, data: JSON.parse(data.join("\n")) };
  } catch (err) {
    return null;
  }
}

// POST a user turn and read its events as they come: onEvent(name, data) for turn, delta,
// candidate, done and error.  Resolves with the stored turn (from done), or throws an ApiError
// (the refusal of the server, an error event, or a stream that ended before done).
export async function postTurn(assignmentId, body, onEvent) {
  let response;
  try {
    response = await fetch(`/api/v1/assignments/${assignmentId}/turns`, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "text/event-stream",
        "Content-Type": "application/json",
        "X-CSRF-Token": csrfToken(),
      },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { error: "the server could not be reached; check the connection and retry" });
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok || !type.startsWith("text/event-stream")) {
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    // A server that answered in one piece: the turn as stored.
    onEvent("done", data);
    return data;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let stored = null;
  const handle = (block) => {
    const parsed = parseEvent(block);
    if (!parsed) return;
    onEvent(parsed.event, parsed.data);
    if (parsed.event === "done") stored = parsed.data;
    if (parsed.event === "error") {
      throw new ApiError(502, { error: (parsed.data && parsed.data.error) || "the turn could not be made" });
    }
  };
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw new ApiError(0, { error: "the connection broke while the answers were coming in; retry" });
    }
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    // Line ends may be CRLF or CR; a CR at the very end may be half of a CRLF still to come.
    const hold = buffer.endsWith("\r");
    let text = (hold ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, "\n");
    let end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      handle(text.slice(0, end));
      text = text.slice(end + 2);
    }
    buffer = text + (hold ? "\r" : "");
  }
  buffer = (buffer + decoder.decode()).replace(/\r\n?/g, "\n");
  if (buffer.trim()) handle(buffer);
  if (!stored) throw new ApiError(0, { error: "the answers stopped coming before they were complete; retry" });
  return stored;
}
