// Editor media page: resumable upload of a master (tus 1.0.0, no library), then the ingest
// job followed live over Socket.IO. Without this script the same form posts the file in one
// plain request (small files only), and the page refreshes itself while a job runs.
import { io } from "/static/vendor/socket.io.esm.min.js";

const TUS_VERSION = "1.0.0";
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const MAX_BACKOFF_S = 30;
const STALL_MS = 45_000; // no byte sent for this long: treat the connection as dropped
const STORAGE_PREFIX = "tus-upload:";
const STORAGE_MAX_AGE_MS = 24 * 3600 * 1000; // the server deletes idle uploads after 24 h
const TEXT_EVERY_MS = 1000; // the live region is not re-announced more often than this
const POLL_MS = 10_000; // safety net beside the socket

const fr = document.documentElement.lang !== "en";
const number = new Intl.NumberFormat(fr ? "fr-FR" : "en-GB", { maximumFractionDigits: 1 });
const T = fr
  ? {
      units: ["o", "Ko", "Mo", "Go", "To"],
      chooseFile: "Choisissez d'abord un fichier vidéo.",
      tooBig: (max) => `Ce fichier dépasse la taille maximale autorisée (${max}).`,
      starting: "Préparation de l'envoi…",
      resuming: (pct) => `Reprise de l'envoi à ${pct} %…`,
      progress: (pct, speed, left) =>
        `${pct} % envoyés${speed ? ` · ${speed}/s` : ""}${left ? ` · encore ${left} environ` : ""}`,
      retry: (s) => `Connexion interrompue : nouvelle tentative dans ${s} s (l'envoi reprendra où il s'est arrêté).`,
      retryNow: "Reprise de la connexion…",
      uploaded: "Fichier envoyé. Vérification du fichier…",
      sent: (size) => `Fichier envoyé (${size}).`,
      cancelled: "Envoi annulé.",
      refused: "Fichier refusé : ",
      failed: "L'envoi a échoué : ",
      gone: "Ce téléversement n'existe plus sur le serveur ; recommencez l'envoi.",
      alreadyUsed: "Ce fichier a déjà été transmis : actualisez la page pour suivre son traitement.",
      queued: "Fichier accepté : traitement en attente…",
      running: (pct, left) => `Transcodage : ${pct} %${left ? ` · encore ${left} environ` : ""}`,
      done: "Terminé : le nouveau média de l'épisode est en ligne.",
      reload: "Afficher le média",
      jobFailed: "Le traitement a échoué : ",
      pending: (name) =>
        `Envoi interrompu de « ${name} » : choisissez à nouveau ce fichier pour le reprendre là où il s'était arrêté.`,
      willResume: "Un envoi interrompu de ce fichier existe : il reprendra là où il s'était arrêté.",
      leave: "Un envoi est en cours. Vous pourrez le reprendre plus tard en choisissant le même fichier.",
      states: { queued: "En attente", running: "En cours", done: "Terminé", failed: "Échec" },
      s: "s",
      min: "min",
      h: "h",
    }
  : {
      units: ["B", "KB", "MB", "GB", "TB"],
      chooseFile: "Choose a video file first.",
      tooBig: (max) => `This file is larger than the maximum allowed (${max}).`,
      starting: "Preparing the upload…",
      resuming: (pct) => `Resuming the upload at ${pct}%…`,
      progress: (pct, speed, left) =>
        `${pct}% sent${speed ? ` · ${speed}/s` : ""}${left ? ` · about ${left} left` : ""}`,
      retry: (s) => `Connection lost: retrying in ${s} s (the upload will resume where it stopped).`,
      retryNow: "Reconnecting…",
      uploaded: "File sent. Checking the file…",
      sent: (size) => `File sent (${size}).`,
      cancelled: "Upload cancelled.",
      refused: "File refused: ",
      failed: "The upload failed: ",
      gone: "This upload no longer exists on the server; start again.",
      alreadyUsed: "This file was already handed over: reload the page to follow its processing.",
      queued: "File accepted: processing queued…",
      running: (pct, left) => `Transcoding: ${pct}%${left ? ` · about ${left} left` : ""}`,
      done: "Done: the episode's new media is online.",
      reload: "Show the media",
      jobFailed: "Processing failed: ",
      pending: (name) => `Interrupted upload of “${name}”: choose this file again to resume it.`,
      willResume: "An interrupted upload of this file exists: it will resume where it stopped.",
      leave: "An upload is in progress. You can resume it later by choosing the same file.",
      states: { queued: "Queued", running: "Running", done: "Done", failed: "Failed" },
      s: "s",
      min: "min",
      h: "h",
    };
const ICONS = { queued: "…", running: "▶", done: "✓", failed: "✗" };

class Cancelled extends Error {}
class NetworkError extends Error {}
class HttpError extends Error {
  constructor(xhr) {
    let body = {};
    try {
      body = JSON.parse(xhr.responseText || "{}");
    } catch {
      body = {};
    }
    super(body.message || `HTTP ${xhr.status}`);
    this.status = xhr.status;
    this.code = body.error || "";
  }
}

export function formatSize(bytes) {
  let value = bytes;
  for (const unit of T.units) {
    if (value < 1024 || unit === T.units[T.units.length - 1]) return `${number.format(value)} ${unit}`;
    value /= 1024;
  }
  return String(bytes);
}

export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} ${T.s}`;
  if (total < 3600) return `${Math.floor(total / 60)} ${T.min} ${String(total % 60).padStart(2, "0")} ${T.s}`;
  return `${Math.floor(total / 3600)} ${T.h} ${String(Math.floor(total / 60) % 60).padStart(2, "0")} ${T.min}`;
}

export function backoffSeconds(attempt) {
  return Math.min(MAX_BACKOFF_S, 2 ** attempt);
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** One HTTP request with XMLHttpRequest (upload progress, abort); resolves on any status. */
function send(method, url, { headers = {}, body = null, onProgress = null, signal = null } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let stalled = false;
    let stallTimer = null;
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, STALL_MS);
    };
    const finish = () => {
      clearTimeout(stallTimer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => xhr.abort();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) {
      xhr.upload.onprogress = (event) => {
        armStall();
        onProgress(event.loaded);
      };
      armStall();
    }
    xhr.onload = () => {
      finish();
      resolve(xhr);
    };
    xhr.onerror = () => {
      finish();
      reject(new NetworkError("network"));
    };
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      finish();
      reject(stalled ? new NetworkError("stalled") : new Cancelled());
    };
    if (signal) {
      if (signal.aborted) {
        reject(new Cancelled());
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
    }
    xhr.send(body);
  });
}

// ------------------------------------------------------------------ remembered uploads

function storageKey(file) {
  return `${STORAGE_PREFIX}${file.name}:${file.size}:${file.lastModified}`;
}

function storedUploads() {
  const found = [];
  try {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key?.startsWith(STORAGE_PREFIX)) continue;
      const entry = JSON.parse(localStorage.getItem(key) || "null");
      if (!entry || Date.now() - entry.at > STORAGE_MAX_AGE_MS) {
        localStorage.removeItem(key);
        i -= 1;
        continue;
      }
      found.push(entry);
    }
  } catch {
    // Storage disabled (private mode): uploads still resume within the page.
  }
  return found;
}

function recall(file) {
  try {
    const entry = JSON.parse(localStorage.getItem(storageKey(file)) || "null");
    if (entry && Date.now() - entry.at <= STORAGE_MAX_AGE_MS) return entry;
    localStorage.removeItem(storageKey(file));
  } catch {
    // ignore
  }
  return null;
}

function remember(file, url) {
  try {
    localStorage.setItem(
      storageKey(file),
      JSON.stringify({ url, name: file.name, size: file.size, at: Date.now() }),
    );
  } catch {
    // ignore
  }
}

function forget(file) {
  try {
    localStorage.removeItem(storageKey(file));
  } catch {
    // ignore
  }
}

// ------------------------------------------------------------------ the tus client

/** Send one file with the tus protocol; survives dropped connections and page reloads. */
export class TusUpload {
  constructor(file, { endpoint, chunkSize = DEFAULT_CHUNK, onProgress, onStatus, onWait }) {
    this.file = file;
    this.endpoint = endpoint;
    this.chunkSize = Math.max(1, chunkSize);
    this.onProgress = onProgress || (() => {});
    this.onStatus = onStatus || (() => {});
    this.onWait = onWait || (() => {});
    this.controller = new AbortController();
    this.url = null;
  }

  headers(extra = {}) {
    return { "Tus-Resumable": TUS_VERSION, "X-CSRFToken": csrfToken(), ...extra };
  }

  get id() {
    return this.url ? new URL(this.url).pathname.split("/").pop() : null;
  }

  check() {
    if (this.controller.signal.aborted) throw new Cancelled();
  }

  async create() {
    const metadata = [`filename ${base64(this.file.name)}`];
    if (this.file.type) metadata.push(`filetype ${base64(this.file.type)}`);
    const xhr = await send("POST", this.endpoint, {
      headers: this.headers({
        "Upload-Length": String(this.file.size),
        "Upload-Metadata": metadata.join(","),
      }),
      signal: this.controller.signal,
    });
    if (xhr.status !== 201) throw new HttpError(xhr);
    this.url = new URL(xhr.getResponseHeader("Location"), window.location.href).href;
    remember(this.file, this.url);
    return 0;
  }

  async head() {
    const xhr = await send("HEAD", this.url, {
      headers: this.headers(),
      signal: this.controller.signal,
    });
    if (xhr.status !== 200) throw new HttpError(xhr);
    const length = Number(xhr.getResponseHeader("Upload-Length"));
    const offset = Number(xhr.getResponseHeader("Upload-Offset"));
    if (length !== this.file.size || !Number.isInteger(offset)) {
      throw Object.assign(new HttpError(xhr), { status: 404 }); // not this file: start over
    }
    return offset;
  }

  async patch(offset) {
    const end = Math.min(offset + this.chunkSize, this.file.size);
    const xhr = await send("PATCH", this.url, {
      headers: this.headers({
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream",
      }),
      body: this.file.slice(offset, end),
      onProgress: (loaded) => this.onProgress(Math.min(end, offset + loaded)),
      signal: this.controller.signal,
    });
    if (xhr.status !== 204) throw new HttpError(xhr);
    const next = Number(xhr.getResponseHeader("Upload-Offset"));
    if (!Number.isInteger(next) || next < offset) throw new NetworkError("bad offset");
    return next; // may be short of `end` if the server kept only part of the body
  }

  /** Wait, cancellably; coming back online cuts the wait short. */
  wait(seconds) {
    return new Promise((resolve, reject) => {
      let left = seconds;
      const tick = setInterval(() => {
        left -= 1;
        if (left <= 0) done();
        else this.onWait(left);
      }, 1000);
      const done = () => {
        clearInterval(tick);
        window.removeEventListener("online", done);
        this.controller.signal.removeEventListener("abort", stop);
        resolve();
      };
      const stop = () => {
        clearInterval(tick);
        window.removeEventListener("online", done);
        reject(new Cancelled());
      };
      window.addEventListener("online", done);
      this.controller.signal.addEventListener("abort", stop, { once: true });
      this.onWait(left);
    });
  }

  /** Upload the whole file; resolves with the upload id once the server has every byte. */
  async run() {
    const saved = recall(this.file);
    this.url = saved ? saved.url : null;
    let offset = null; // null: ask the server (HEAD)
    let attempt = 0;
    let restarted = false;
    let conflicts = 0;
    for (;;) {
      this.check();
      try {
        if (this.url === null) {
          offset = await this.create();
        } else if (offset === null) {
          offset = await this.head();
          if (offset > 0) this.onStatus(T.resuming(Math.floor((offset / this.file.size) * 100)));
        }
        this.onProgress(offset);
        if (offset >= this.file.size) return this.id;
        offset = await this.patch(offset);
        attempt = 0;
        conflicts = 0;
      } catch (error) {
        if (error instanceof Cancelled) throw error;
        const status = error instanceof HttpError ? error.status : 0;
        if ((status === 404 || status === 410) && !restarted) {
          // The server no longer knows this upload (expired, or another file): start over.
          forget(this.file);
          this.url = null;
          offset = null;
          restarted = true;
          continue;
        }
        if (status === 409 && conflicts < 3) {
          conflicts += 1;
          offset = null; // someone else's view of the offset was wrong: ask the server
          continue;
        }
        const retryable = status === 0 || status === 409 || status === 423 || status === 429 || status >= 500;
        if (!retryable) throw error;
        const delay = backoffSeconds(attempt);
        attempt += 1;
        await this.wait(delay);
        this.onStatus(T.retryNow);
        offset = null;
      }
    }
  }

  /** Stop sending and delete what the server has received. */
  async cancel() {
    this.controller.abort();
    forget(this.file);
    if (this.url) {
      try {
        await send("DELETE", this.url, { headers: this.headers() });
      } catch {
        // the server deletes idle uploads after 24 h anyway
      }
    }
  }
}

// ------------------------------------------------------------------ ingest jobs, live

class JobFollower {
  constructor(root) {
    this.root = root;
    this.jobUrl = root.dataset.jobUrl;
    this.jobs = new Map(); // id -> {panel: bool, state}
    this.socket = null;
    this.poller = null;
    this.lastText = 0;
  }

  follow(job, { panel = false } = {}) {
    this.jobs.set(job.id, { panel, state: job.state });
    this.render(job, "api");
    if (job.state === "done" || job.state === "failed") return;
    this.connect();
    if (this.socket.connected) this.join(job.id);
    if (!this.poller) this.poller = setInterval(() => this.poll(), POLL_MS);
  }

  connect() {
    if (this.socket) return;
    this.socket = io({ transports: ["websocket", "polling"] });
    this.socket.on("connect", () => {
      for (const [id, info] of this.jobs) {
        if (info.state !== "done" && info.state !== "failed") this.join(id);
      }
    });
    this.socket.on("ingest", (job) => {
      if (this.jobs.has(job.id)) this.render(job, "socket");
    });
  }

  join(id) {
    this.socket.emit("join", { ingest: id }, () => this.fetch(id)); // catch up once joined
  }

  async fetch(id) {
    try {
      const response = await fetch(this.jobUrl.replace(/\/0$/, `/${id}`), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) this.render(await response.json(), "api");
    } catch {
      // next poll
    }
  }

  poll() {
    for (const [id, info] of this.jobs) {
      if (info.state !== "done" && info.state !== "failed") this.fetch(id);
    }
  }

  settle() {
    const active = [...this.jobs.values()].some((j) => j.state !== "done" && j.state !== "failed");
    if (active) return;
    clearInterval(this.poller);
    this.poller = null;
    if (this.socket) {
      this.socket.disconnect();
      this.socket = null;
    }
  }

  render(job, source) {
    const info = this.jobs.get(job.id);
    if (!info) return;
    // Events can arrive out of order (socket vs. poll): never go back from a final state.
    if ((info.state === "done" || info.state === "failed") && info.state !== job.state) return;
    info.state = job.state;
    const pct = Math.round((job.progress || 0) * 100);
    const left = job.state === "running" && job.eta_s != null ? formatDuration(job.eta_s) : "";
    this.renderRow(job, pct, left);
    if (info.panel) this.renderPanel(job, pct, left, source);
    if (job.state === "done" || job.state === "failed") this.settle();
  }

  row(job) {
    const table = document.querySelector("[data-jobs]");
    if (!table) return null;
    let row = table.querySelector(`tr[data-job-id="${job.id}"]`);
    if (row) return row;
    row = document.createElement("tr");
    row.dataset.jobId = String(job.id);
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = String(job.id);
    const name = document.createElement("td");
    name.className = "filename";
    name.textContent = job.original_name || "";
    const state = document.createElement("td");
    state.innerHTML =
      '<span class="badge" data-field="state"><span aria-hidden="true" data-field="icon"></span> <span data-field="label"></span></span>';
    const progress = document.createElement("td");
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.dataset.field = "bar";
    bar.setAttribute("aria-label", `#${job.id}`);
    const percent = document.createElement("span");
    percent.dataset.field = "percent";
    progress.append(bar, " ", percent);
    const eta = document.createElement("td");
    eta.dataset.field = "eta";
    const detail = document.createElement("td");
    detail.dataset.field = "error";
    row.append(head, name, state, progress, eta, detail);
    table.tBodies[0].prepend(row);
    document.querySelector("[data-no-jobs]")?.setAttribute("hidden", "");
    document.querySelector("[data-jobs-wrap]")?.removeAttribute("hidden");
    return row;
  }

  renderRow(job, pct, left) {
    const row = this.row(job);
    if (!row) return;
    row.dataset.jobState = job.state;
    const field = (name) => row.querySelector(`[data-field="${name}"]`);
    const badge = field("state");
    if (badge) badge.className = `badge badge-job-${job.state}`;
    if (field("icon")) field("icon").textContent = ICONS[job.state] || "";
    if (field("label")) field("label").textContent = T.states[job.state] || job.state;
    if (field("bar")) field("bar").value = pct;
    if (field("percent")) field("percent").textContent = fr ? `${pct} %` : `${pct}%`;
    if (field("eta")) field("eta").textContent = left ? `≈ ${left}` : "—";
    if (field("error") && job.error) {
      field("error").textContent = `${job.error} ${job.message || ""}`.trim();
    }
  }

  renderPanel(job, pct, left, source) {
    const panel = this.root.querySelector("[data-ingest]");
    const bar = this.root.querySelector("[data-ingest-bar]");
    const status = this.root.querySelector("[data-ingest-status]");
    panel.hidden = false;
    panel.dataset.state = job.state;
    panel.dataset.jobId = String(job.id);
    if (source === "socket") panel.dataset.liveEvents = String(Number(panel.dataset.liveEvents || 0) + 1);
    bar.value = job.state === "done" ? 100 : pct;
    const final = job.state === "done" || job.state === "failed";
    const now = Date.now();
    if (!final && now - this.lastText < TEXT_EVERY_MS) return;
    this.lastText = now;
    if (job.state === "queued") status.textContent = T.queued;
    else if (job.state === "running") status.textContent = T.running(pct, left);
    else if (job.state === "done") {
      status.textContent = `${T.done} `;
      status.className = "progress-text upload-done";
      const link = document.createElement("a");
      link.href = `${this.root.dataset.episodeUrl}#media`;
      link.textContent = T.reload;
      // Same URL as the page: reload it so the media section is rendered again.
      link.addEventListener("click", (event) => {
        event.preventDefault();
        window.location.replace(link.href);
        window.location.reload();
      });
      status.append(link);
    } else if (job.state === "failed") {
      status.textContent = "";
      showError(this.root, T.jobFailed + (job.message || job.error || ""));
    }
  }
}

// ------------------------------------------------------------------ the page

function showError(root, message) {
  const box = root.querySelector("[data-error]");
  box.textContent = message;
  box.hidden = false;
}

function clearError(root) {
  const box = root.querySelector("[data-error]");
  box.textContent = "";
  box.hidden = true;
}

function setup(root) {
  const form = root.querySelector("form");
  const input = form.querySelector('input[type="file"]');
  const start = form.querySelector("[data-start]");
  const cancel = form.querySelector("[data-cancel]");
  const progressBox = root.querySelector("[data-progress]");
  const bar = root.querySelector("[data-bar]");
  const status = root.querySelector("[data-status]");
  const note = root.querySelector("[data-resume-note]");
  const follower = new JobFollower(root);
  let current = null;

  // Jobs already queued or running when the page opens are followed live too.
  for (const row of document.querySelectorAll("tr[data-job-id]")) {
    const state = row.dataset.jobState;
    if (state === "queued" || state === "running") {
      follower.jobs.set(Number(row.dataset.jobId), { panel: false, state });
    }
  }
  if (follower.jobs.size) {
    follower.connect();
    follower.poller = setInterval(() => follower.poll(), POLL_MS);
  }

  const pending = storedUploads();
  if (pending.length) {
    note.textContent = pending.map((entry) => T.pending(entry.name)).join(" ");
    note.hidden = false;
  }
  input.addEventListener("change", () => {
    const file = input.files[0];
    if (file && recall(file)) {
      note.textContent = T.willResume;
      note.hidden = false;
    } else if (!pending.length) {
      note.hidden = true;
    }
  });

  const leaveWarning = (event) => {
    event.preventDefault();
    event.returnValue = T.leave;
    return T.leave;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (current) return;
    clearError(root);
    const file = input.files[0];
    if (!file) {
      showError(root, T.chooseFile);
      input.focus();
      return;
    }
    const maxSize = Number(root.dataset.maxSize);
    if (maxSize && file.size > maxSize) {
      showError(root, T.tooBig(formatSize(maxSize)));
      return;
    }
    const chunkSize = Number(root.dataset.chunkSize) || DEFAULT_CHUNK;
    let lastText = 0;
    let samples = [];
    const upload = new TusUpload(file, {
      endpoint: root.dataset.endpoint,
      chunkSize,
      onProgress: (sent) => {
        const now = performance.now();
        samples.push([now, sent]);
        samples = samples.filter(([t]) => now - t <= 5000);
        bar.value = (sent / file.size) * 100;
        if (now - lastText < TEXT_EVERY_MS && sent < file.size) return;
        lastText = now;
        const [t0, b0] = samples[0];
        const speed = now - t0 > 300 ? ((sent - b0) * 1000) / (now - t0) : 0;
        const left = speed > 0 ? formatDuration((file.size - sent) / speed) : "";
        const pct = Math.floor((sent / file.size) * 100);
        status.textContent = T.progress(pct, speed > 0 ? formatSize(speed) : "", sent < file.size ? left : "");
      },
      onStatus: (text) => {
        status.textContent = text;
        lastText = performance.now();
      },
      onWait: (seconds) => {
        status.textContent = T.retry(seconds);
        samples = [];
        lastText = performance.now();
      },
    });
    current = upload;
    progressBox.hidden = false;
    root.querySelector("[data-ingest]").hidden = true;
    bar.value = 0;
    status.textContent = T.starting;
    start.disabled = true;
    input.disabled = true;
    cancel.hidden = false;
    note.hidden = true;
    window.addEventListener("beforeunload", leaveWarning);
    try {
      const id = await upload.run();
      cancel.hidden = true;
      window.removeEventListener("beforeunload", leaveWarning);
      status.textContent = T.uploaded;
      await startIngest(root, file, id, follower);
    } catch (error) {
      if (error instanceof Cancelled) {
        status.textContent = T.cancelled;
      } else if (error instanceof HttpError && error.status === 413) {
        showError(root, T.tooBig(formatSize(maxSize)));
      } else {
        showError(root, T.failed + error.message);
      }
    } finally {
      window.removeEventListener("beforeunload", leaveWarning);
      current = null;
      start.disabled = false;
      input.disabled = false;
      cancel.hidden = true;
    }
  });

  cancel.addEventListener("click", () => {
    if (current) current.cancel();
  });
}

async function startIngest(root, file, uploadId, follower) {
  let attempt = 0;
  for (;;) {
    let xhr;
    try {
      xhr = await send("POST", root.dataset.ingestUrl, {
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ upload: uploadId }),
      });
    } catch (error) {
      if (!(error instanceof NetworkError) || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffSeconds(attempt) * 1000));
      attempt += 1;
      continue;
    }
    if (xhr.status === 202) {
      forget(file);
      root.querySelector("[data-status]").textContent = T.sent(formatSize(file.size));
      const { job } = JSON.parse(xhr.responseText);
      follower.follow(job, { panel: true });
      return;
    }
    const error = new HttpError(xhr);
    if (xhr.status === 422) {
      forget(file); // the server deleted the file: a new attempt starts from zero
      root.querySelector("[data-progress]").hidden = true;
      showError(root, T.refused + error.message);
      return;
    }
    if (xhr.status === 410) {
      forget(file);
      showError(root, T.alreadyUsed);
      return;
    }
    if (xhr.status >= 500 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, backoffSeconds(attempt) * 1000));
      attempt += 1;
      continue;
    }
    throw error;
  }
}

const root = document.querySelector("[data-uploader]");
if (root) setup(root);
