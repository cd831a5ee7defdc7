// Import a file into a project through the JSON API, with the upload's progress.
import { csrfToken } from "./csrf.js";

const form = document.getElementById("import-form");
const bar = document.getElementById("import-progress");
const status = document.getElementById("import-status");
const FORMATS = { jsonl: "jsonl", ndjson: "jsonl", json: "json", csv: "csv", parquet: "parquet" };

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const file = document.getElementById("import-file").files[0];
  if (!file) return;
  const ext = file.name.split(".").pop().toLowerCase();
  const format = FORMATS[ext];
  if (!format) {
    status.textContent = `${file.name}: use a .jsonl, .json, .csv or .parquet file`;
    status.className = "error";
    return;
  }
  const skip = document.getElementById("import-skip").checked ? "skip" : "error";
  const url = `/api/v1/projects/${form.dataset.projectId}/items?format=${format}&on_duplicate=${skip}`;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", url);
  xhr.setRequestHeader("X-CSRF-Token", csrfToken());
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  bar.hidden = false;
  bar.value = 0;
  status.className = "";
  status.textContent = `Uploading ${file.name}…`;
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
  });
  xhr.upload.addEventListener("load", () => {
    bar.value = 100;
    status.textContent = "Uploaded; checking and importing…";
  });
  xhr.addEventListener("load", () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { body = { error: xhr.statusText }; }
    if (xhr.status === 201) {
      status.className = "ok";
      status.textContent = `Imported ${body.imported} items` +
        (body.skipped_duplicates ? ` (${body.skipped_duplicates} duplicates skipped)` : "") + ".";
      const count = document.getElementById("count-items");
      if (count) count.textContent = String(Number(count.textContent) + body.imported);
    } else {
      status.className = "error";
      // The message already says the first problem (and how many more there are): list the rest.
      const more = (body.errors || []).slice(1, 10).map((e) => `${e.loc}: ${e.msg}`);
      status.textContent = [body.error || `error ${xhr.status}`, ...more].join("\n");
    }
  });
  xhr.addEventListener("error", () => {
    status.className = "error";
    status.textContent = "The upload failed (network error).";
  });
  xhr.send(file);
});
