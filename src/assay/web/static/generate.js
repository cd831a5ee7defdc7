// Start a generation job through the JSON API and follow its progress until it ends.
import { csrfToken } from "./csrf.js";

const form = document.getElementById("generate-form");
const box = document.getElementById("generate-job");
const status = document.getElementById("generate-status");

function show(job) {
  box.replaceChildren();
  const line = document.createElement("p");
  const failed = job.failed ? `, ${job.failed} calls failed` : "";
  line.textContent = `Job ${job.id}: ${job.state}, ${job.done} of ${job.total} items${failed}.`;
  const bar = document.createElement("progress");
  bar.max = job.total || 1;
  bar.value = job.done;
  bar.setAttribute("aria-label", "Generation progress");
  box.append(line, bar);
  if (job.error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = job.error;
    box.append(p);
  }
  if (job.errors && job.errors.length) {
    const list = document.createElement("ul");
    list.className = "errors";
    for (const e of job.errors.slice(0, 10)) {
      const li = document.createElement("li");
      li.textContent = `item ${e.external_id || e.item_id}${e.model ? ` (${e.model})` : ""}: ${e.error}`;
      list.append(li);
    }
    box.append(list);
  }
}

async function follow(jobId) {
  for (;;) {
    const r = await fetch(`/api/v1/jobs/${jobId}`, { headers: { Accept: "application/json" } });
    if (!r.ok) return;
    const job = await r.json();
    show(job);
    if (job.state === "done" || job.state === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

if (box && box.dataset.jobId) {
  const state = document.getElementById("generate-state");
  if (state && (state.textContent === "queued" || state.textContent === "running")) follow(box.dataset.jobId);
}

if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const models = [...form.querySelectorAll('input[name="models"]:checked')].map((i) => i.value);
    const samples = Number(document.getElementById("generate-samples").value || 1);
    status.className = "";
    status.textContent = "Starting…";
    const r = await fetch(`/api/v1/projects/${form.dataset.projectId}/generate`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ models, samples }),
    });
    let body = {};
    try { body = await r.json(); } catch { body = { error: r.statusText }; }
    if (r.status === 202) {
      status.className = "ok";
      status.textContent = `Generation job ${body.job_id} queued.`;
      follow(body.job_id);
    } else {
      status.className = "error";
      status.textContent = body.error || `error ${r.status}`;
    }
  });
}
