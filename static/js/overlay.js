// Hotspot overlay of the episode player: boxes drawn over the video on the exact frame where
// each hotspot starts (requestVideoFrameCallback; timeupdate + requestAnimationFrame without
// it), the list of active hotspots for keyboards and screen readers, the offer card and the
// impression beacons. Hotspots come from the public WebVTT metadata track of the episode
// (data-hotspots), also added to the video's text tracks for any script or player to read.
//
// `?overlay=timeupdate` (or data-overlay-mode on the player) drives the same overlay from
// timeupdate events only, `?overlay=raf` from animation frames: the benchmark compares them.

const lang = document.documentElement.lang === "en" ? "en" : "fr";
const TEXT = {
  fr: {
    heading: "Zones interactives",
    empty: "Aucune zone en ce moment : elles s'affichent ici pendant la lecture.",
    newOne: (label) => `Nouvelle zone : ${label}`,
    newMany: (labels) => `Nouvelles zones : ${labels.join(", ")}`,
    close: "Fermer",
    see: "Voir l'offre",
    address: "Adresse",
    hours: "Horaires",
    seekTo: (at) => `Aller à ${at}`,
    place: "Voir le lieu",
    kinds: { product: "Produit", recipe: "Recette", place: "Lieu", info: "Info" },
  },
  en: {
    heading: "Interactive hotspots",
    empty: "No hotspot right now: they show up here as the episode plays.",
    newOne: (label) => `New hotspot: ${label}`,
    newMany: (labels) => `New hotspots: ${labels.join(", ")}`,
    close: "Close",
    see: "See the offer",
    address: "Address",
    hours: "Opening hours",
    seekTo: (at) => `Go to ${at}`,
    place: "See the place",
    kinds: { product: "Product", recipe: "Recipe", place: "Place", info: "Info" },
  },
}[lang];

/** Frame timestamps are floats: 2.0 may come as 1.9999999. */
const EPSILON = 0.001;
/** An impression: on screen this long (wall time, page visible), once per appearance. */
const IMPRESSION_MS = 1000;
/** Announcements of new hotspots: at most one per this many ms (several are grouped). */
const ANNOUNCE_GAP_MS = 3000;
/** Without a frame callback for this long while time moves, timeupdate takes over. */
const STALE_FRAMES_MS = 500;

/** The box at t: linear between keyframes, held before the first and after the last
 * (the same rule as series.episodes.hotspots.box_at). Keyframes are sorted by t. */
export function boxAt(keyframes, t) {
  const first = keyframes[0];
  if (t <= first.t) return { x: first.x, y: first.y, w: first.w, h: first.h };
  for (let i = 1; i < keyframes.length; i += 1) {
    const before = keyframes[i - 1];
    const after = keyframes[i];
    if (t <= after.t) {
      const span = after.t - before.t;
      const r = span ? (t - before.t) / span : 1;
      return {
        x: before.x + (after.x - before.x) * r,
        y: before.y + (after.y - before.y) * r,
        w: before.w + (after.w - before.w) * r,
        h: before.h + (after.h - before.h) * r,
      };
    }
  }
  const last = keyframes[keyframes.length - 1];
  return { x: last.x, y: last.y, w: last.w, h: last.h };
}

/** Whether a hotspot shows at t: start ≤ t < end. */
export function isActive(hotspot, t) {
  return t >= hotspot.start - EPSILON && t < hotspot.end - EPSILON;
}

/** Hotspots from the WebVTT metadata track (one JSON payload per cue), by start time. */
export function parseTrack(text) {
  const found = [];
  for (const block of String(text).split(/\r?\n(?:[ \t]*\r?\n)+/)) {
    const lines = block.split(/\r?\n/);
    const timing = lines.findIndex((line) => line.includes("-->"));
    if (timing < 0) continue; // the WEBVTT header, NOTE blocks
    let h;
    try {
      h = JSON.parse(lines.slice(timing + 1).join("\n"));
    } catch {
      continue;
    }
    const frames = Array.isArray(h?.keyframes) ? h.keyframes : [];
    if (!Number.isFinite(h.start) || !Number.isFinite(h.end) || !frames.length) continue;
    if (!frames.every((f) => ["t", "x", "y", "w", "h"].every((k) => Number.isFinite(f[k])))) {
      continue;
    }
    h.keyframes = [...frames].sort((a, b) => a.t - b.t);
    h.cue = { id: timing > 0 ? lines[timing - 1] : "", text: lines.slice(timing + 1).join("\n") };
    found.push(h);
  }
  return found.sort((a, b) => a.start - b.start || a.id - b.id);
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function price(offer) {
  if (offer.price === null || offer.price === undefined) return "";
  try {
    const format = new Intl.NumberFormat(document.documentElement.lang || lang, {
      style: "currency",
      currency: offer.currency || "EUR",
    });
    return format.format(offer.price);
  } catch {
    return `${offer.price} ${offer.currency || ""}`.trim();
  }
}

async function loadTrack(video, url) {
  // Fetched rather than a <track> element: adding one makes Chromium redo its automatic
  // caption selection, undoing the player's choice. The cues are still exposed as a hidden
  // metadata text track of the video, for any other script or player.
  let hotspots = [];
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.ok) hotspots = parseTrack(await response.text());
  } catch {
    return [];
  }
  if (hotspots.length && video.addTextTrack && window.VTTCue) {
    const track = video.addTextTrack("metadata", "hotspots");
    track.mode = "hidden";
    for (const h of hotspots) {
      const cue = new VTTCue(h.start, h.end, h.cue.text);
      cue.id = h.cue.id;
      track.addCue(cue);
    }
  }
  return hotspots;
}

function chooseMode(root, video) {
  const asked = new URLSearchParams(location.search).get("overlay") || root.dataset.overlayMode;
  if (asked === "timeupdate" || asked === "raf") return asked;
  return typeof video.requestVideoFrameCallback === "function" ? "rvfc" : "raf";
}

export function setupOverlay(root, video) {
  const layer = root.querySelector("[data-hotspot-layer]");
  const url = root.dataset.hotspots;
  if (!layer || !url || !video) return;
  const live = root.querySelector("[data-hotspot-live]");
  const card = root.querySelector("[data-hotspot-card]");
  const panel = document.querySelector(`[data-hotspot-panel="${root.dataset.episode}"]`);
  const list = panel?.querySelector("[data-hotspot-list]");
  const empty = panel?.querySelector("[data-hotspot-empty]");
  const heading = panel?.querySelector("[data-hotspot-heading]");
  const mode = chooseMode(root, video);
  root.dataset.overlayMode = mode;
  window.__overlayFirstDrawn = window.__overlayFirstDrawn || {};
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  let hotspots = [];
  const states = new Map(); // id -> {active, box, item, timer, sent}
  let lastFrame = null; // the latest presented frame {mediaTime, expectedDisplayTime, now}
  let lastFrameAt = 0; // performance.now() of the latest frame callback

  // ---- Layout: the layer covers the picture itself, letterboxing excluded ----
  function layout() {
    const v = video.getBoundingClientRect();
    const r = root.getBoundingClientRect();
    let [x, y, w, h] = [0, 0, v.width, v.height];
    if (video.videoWidth && video.videoHeight && v.width && v.height) {
      // object-fit: contain, the default of <video>.
      const scale = Math.min(v.width / video.videoWidth, v.height / video.videoHeight);
      w = video.videoWidth * scale;
      h = video.videoHeight * scale;
      x = (v.width - w) / 2;
      y = (v.height - h) / 2;
    }
    layer.style.left = `${v.left - r.left - root.clientLeft + x}px`;
    layer.style.top = `${v.top - r.top - root.clientTop + y}px`;
    layer.style.width = `${w}px`;
    layer.style.height = `${h}px`;
  }
  if ("ResizeObserver" in window) new ResizeObserver(layout).observe(video);
  for (const type of ["loadedmetadata", "resize"]) video.addEventListener(type, layout);
  addEventListener("resize", layout);
  document.addEventListener("fullscreenchange", () => {
    layout();
    // In full screen the list below the player is out of sight: the boxes take Tab.
    const inside = document.fullscreenElement === root;
    for (const state of states.values()) state.box.tabIndex = inside ? 0 : -1;
  });

  // ---- Elements ----
  function control(h, className) {
    let node;
    if (h.action === "url") {
      node = Object.assign(document.createElement("a"), {
        href: `/go/${h.id}`,
        target: "_blank",
        rel: "noopener sponsored",
      });
    } else if (h.action === "location" && Number.isFinite(h.action_value)) {
      node = Object.assign(document.createElement("a"), {
        href: `/lieux/${Math.round(h.action_value)}`,
      });
    } else {
      node = Object.assign(document.createElement("button"), { type: "button" });
      node.addEventListener("click", () => activate(h, node));
    }
    node.className = className;
    node.dataset.hotspot = String(h.id);
    return node;
  }

  function makeBox(h) {
    const box = control(h, `hotspot-box hotspot-${h.shape === "ellipse" ? "ellipse" : "rect"}`);
    box.setAttribute("aria-label", h.accessible_label || h.label);
    box.tabIndex = document.fullscreenElement === root ? 0 : -1;
    box.hidden = true;
    const tag = Object.assign(document.createElement("span"), {
      className: "hotspot-tag",
      textContent: h.label,
    });
    tag.setAttribute("aria-hidden", "true");
    box.append(tag);
    layer.append(box);
    return box;
  }

  function makeItem(h) {
    const button = control(h, "hotspot-item button-secondary");
    const kind = TEXT.kinds[h.kind];
    if (kind) {
      button.append(
        Object.assign(document.createElement("span"), {
          className: "hotspot-kind",
          textContent: kind,
        }),
        " ",
      );
    }
    button.append(h.accessible_label || h.label);
    const item = document.createElement("li");
    item.dataset.start = String(h.start);
    item.append(button);
    return item;
  }

  // ---- Drawing ----
  function place(box, where) {
    box.style.left = `${where.x}%`;
    box.style.top = `${where.y}%`;
    box.style.width = `${where.w}%`;
    box.style.height = `${where.h}%`;
    box.classList.toggle("hotspot-box-top", where.y < 9);
    box.classList.toggle("hotspot-box-right", where.x + where.w / 2 > 55);
  }

  function recordFirstDraw(h, time, frame) {
    const drawn = window.__overlayFirstDrawn;
    const key = String(h.id);
    if (drawn[key]) return;
    const record = {
      mode,
      start: h.start,
      overlayTime: time, // the time the overlay decided with
      mediaTime: frame ? frame.mediaTime : time, // the frame shown with the new box
      expectedDisplayTime: frame ? frame.expectedDisplayTime : null,
      now: frame ? frame.now : performance.now(),
      currentTime: video.currentTime,
    };
    drawn[key] = record;
    if (frame || !lastFrame) return;
    // Not drawn from a frame callback: the box is painted with the next rendering update,
    // where the frame callbacks (if a frame is due) run before the animation frame ones.
    requestAnimationFrame((now) => {
      Object.assign(record, {
        mediaTime: lastFrame.mediaTime,
        expectedDisplayTime: lastFrame.expectedDisplayTime,
        now,
      });
    });
  }

  function render(t, frame = null) {
    let changed = false;
    for (const h of hotspots) {
      const state = states.get(h.id);
      if (isActive(h, t)) {
        place(state.box, boxAt(h.keyframes, t));
        if (!state.active) {
          appear(h, state);
          changed = true;
          recordFirstDraw(h, t, frame);
        }
      } else if (state.active) {
        disappear(h, state);
        changed = true;
      }
    }
    if (changed) empty.hidden = list.children.length > 0;
  }

  function appear(h, state) {
    state.active = true;
    state.sent = false;
    state.box.hidden = false; // shown again, its entrance animation runs again
    const after = [...list.children].find((li) => Number(li.dataset.start) > h.start);
    list.insertBefore(state.item, after || null);
    announce(h);
    startImpression(h, state);
    if (h.pause_on_show && !video.paused && !video.seeking) video.pause();
  }

  function disappear(h, state) {
    state.active = false;
    state.box.hidden = true;
    clearTimeout(state.timer);
    const focused = state.item.contains(document.activeElement);
    state.item.remove();
    if (focused) heading.focus(); // the keyboard keeps its place
  }

  // ---- Frame clocks ----
  function startFrameCallbacks() {
    if (!video.requestVideoFrameCallback) return;
    let handle = 0;
    const onFrame = (now, metadata) => {
      handle = video.requestVideoFrameCallback(onFrame);
      lastFrameAt = performance.now();
      lastFrame = {
        mediaTime: metadata.mediaTime,
        expectedDisplayTime: metadata.expectedDisplayTime,
        now,
        presentedFrames: metadata.presentedFrames,
      };
      if (mode === "rvfc") render(metadata.mediaTime, lastFrame);
    };
    const rearm = () => {
      video.cancelVideoFrameCallback(handle);
      handle = video.requestVideoFrameCallback(onFrame);
    };
    rearm();
    if (mode !== "rvfc") return;
    // A source change (the player falls back to the MP4) may drop pending callbacks; a video
    // that presents no frame (scrolled away, some engines) must still update the list.
    video.addEventListener("timeupdate", () => {
      if (performance.now() - lastFrameAt < STALE_FRAMES_MS) return;
      rearm();
      render(video.currentTime);
    });
  }

  function startFallbackClock() {
    const now = () => render(video.currentTime);
    video.addEventListener("timeupdate", now);
    video.addEventListener("seeked", now);
    if (mode !== "raf") return;
    let handle = 0;
    const loop = () => {
      handle = 0;
      now();
      if (!video.paused && !video.ended) handle = requestAnimationFrame(loop);
    };
    video.addEventListener("playing", () => handle || (handle = requestAnimationFrame(loop)));
  }

  // ---- Announcements (polite, grouped, at most one every few seconds) ----
  let waiting = [];
  let lastSaid = -Infinity;
  let sayTimer = 0;

  function announce(h) {
    if (!live) return;
    waiting.push(h);
    if (sayTimer) return;
    sayTimer = setTimeout(say, Math.max(0, lastSaid + ANNOUNCE_GAP_MS - performance.now()));
  }

  function say() {
    sayTimer = 0;
    const labels = waiting
      .filter((h) => states.get(h.id).active)
      .map((h) => h.accessible_label || h.label);
    waiting = [];
    if (!labels.length) return;
    lastSaid = performance.now();
    const message = labels.length === 1 ? TEXT.newOne(labels[0]) : TEXT.newMany(labels);
    live.textContent = ""; // emptied first so the same words twice are read twice
    setTimeout(() => {
      live.textContent = message;
    }, 50);
  }

  // ---- Impressions ----
  function startImpression(h, state) {
    clearTimeout(state.timer);
    if (document.hidden || state.sent) return;
    const since = performance.now();
    state.timer = setTimeout(() => {
      if (!state.active || state.sent || document.hidden) return;
      state.sent = true;
      fetch(`/api/v1/hotspots/${h.id}/impressions`, {
        method: "POST",
        keepalive: true,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        // Timers and clocks round differently: never under the threshold it waited for.
        body: JSON.stringify({
          visible_ms: Math.max(IMPRESSION_MS, Math.round(performance.now() - since)),
        }),
      }).catch(() => {});
    }, IMPRESSION_MS);
  }

  document.addEventListener("visibilitychange", () => {
    for (const h of hotspots) {
      const state = states.get(h.id);
      if (document.hidden) clearTimeout(state.timer);
      else if (state.active) startImpression(h, state); // "continuously": start over
    }
  });

  // ---- Actions and the card ----
  let returnTo = null;
  const field = (name) => card.querySelector(`[data-card-${name}]`);

  function fillCard(h) {
    const offer = h.offer || {};
    const set = (name, text) => {
      const node = field(name);
      node.textContent = text || "";
      (node.closest("[data-card-row]") || node).hidden = !text;
    };
    set("kind", TEXT.kinds[h.kind] || "");
    set("title", offer.title || h.label);
    set("merchant", offer.merchant);
    set("text", offer.text || (h.offer ? "" : h.accessible_label));
    set("price", h.offer ? price(offer) : "");
    set("address", offer.address);
    set("hours", offer.opening_hours);
    // The offer's link is made with its first address: a link without one is a dead end for
    // crawlers and assistive technologies alike.
    let link = field("link");
    if (!link) {
      link = Object.assign(document.createElement("a"), {
        className: "button hotspot-card-link",
        rel: "noopener sponsored",
        target: "_blank",
        textContent: TEXT.see,
      });
      link.dataset.cardLink = "";
      card.append(link);
    }
    link.hidden = !offer.has_link;
    link.href = `/go/${h.id}`;
    card.dataset.hotspot = String(h.id);
  }

  function openCard(h, invoker) {
    fillCard(h);
    // Over the picture, the card takes the side away from the box it is about.
    const where = boxAt(h.keyframes, video.currentTime);
    card.classList.toggle("hotspot-card-left", where.x + where.w / 2 > 50);
    returnTo = invoker;
    if (!card.open) card.show();
    field("title").focus();
  }

  function closeCard() {
    if (!card.open) return;
    const active = document.activeElement;
    const hadFocus = card.contains(active) || active === document.body || !active;
    card.close();
    if (!hadFocus) return; // the visitor went elsewhere: focus stays there
    const back = returnTo?.isConnected && !returnTo.closest("[hidden]") ? returnTo : null;
    (back || list.querySelector("button, a") || heading).focus();
  }

  function activate(h, invoker) {
    if (h.action === "seek" && Number.isFinite(h.action_value)) {
      video.currentTime = h.action_value;
      if (live) live.textContent = TEXT.seekTo(clock(h.action_value));
      return;
    }
    openCard(h, invoker);
  }

  function setupCard() {
    field("close").setAttribute("aria-label", TEXT.close);
    field("close").addEventListener("click", closeCard);
    field("address-label").textContent = TEXT.address;
    field("hours-label").textContent = TEXT.hours;
    card.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      closeCard();
    });
    // Escape also closes it from the player or the list, where focus was before.
    for (const area of [root, panel]) {
      area.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && card.open && !card.contains(event.target)) closeCard();
      });
    }
  }

  // ---- Start ----
  loadTrack(video, url).then((found) => {
    hotspots = found;
    if (!hotspots.length) return;
    for (const h of hotspots) {
      states.set(h.id, { active: false, sent: false, timer: 0, box: makeBox(h), item: makeItem(h) });
    }
    heading.textContent = TEXT.heading;
    empty.textContent = TEXT.empty;
    panel.hidden = false;
    root.after(panel); // right after the player, before the chapters
    setupCard();
    layout();
    startFrameCallbacks();
    if (mode !== "rvfc") startFallbackClock();
    if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) render(video.currentTime);
  });
}
