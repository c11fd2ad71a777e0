// Hotspot editor (editors only): pause on a frame, draw a box by dragging or with the keyboard,
// add keyframes, set start and end (snapped to the shot changes found at ingest), preview the
// movement, then save through the JSON API (/api/v1/episodes/<id>/hotspots, /api/v1/hotspots/<id>).
// Every pointer gesture has a keyboard equivalent and the numeric form always shows the box.

const KEYS = ["x", "y", "w", "h"];
const MIN_SIZE = 0.5; // % of the picture: the smallest box
const DEFAULT_BOX = { x: 40, y: 40, w: 20, h: 20 };
const FRAME_EPSILON = 1e-4; // seek a hair after the frame's start so the decoder shows that frame
const PREVIEW_LEAD_S = 0.5;

const fr = document.documentElement.lang !== "en";
const locale = fr ? "fr-FR" : "en-GB";
const fmt3 = new Intl.NumberFormat(locale, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const fmt1 = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const T = fr
  ? {
      play: "Lecture",
      pause: "Pause",
      frame: (n) => `image ${n}`,
      newTitle: "Nouvelle zone",
      editTitle: (id, label) => `Zone n° ${id} : ${label}`,
      boxDraft: "Aucune image clé : réglez le cadre puis ajoutez une image clé.",
      boxInterpolated: "Cadre calculé entre les images clés.",
      boxOnKeyframe: (t) => `Sur l'image clé à ${t} s : vos réglages la modifient directement.`,
      boxPending: "Cadre modifié : ajoutez une image clé pour le garder (Échap pour annuler).",
      outside: "hors de la durée de la zone",
      keyframeAdded: (t, n) => `Image clé ajoutée à ${t} s (${n} au total).`,
      keyframeUpdated: (t) => `Image clé à ${t} s mise à jour.`,
      keyframeRemoved: (t, n) => `Image clé à ${t} s supprimée (${n} restantes).`,
      keyframeOutside: (t, a, b) =>
        `L'instant courant (${t} s) est hors de la zone (${a} – ${b} s) : réglez d'abord le début et la fin.`,
      goTo: "Aller",
      goToLabel: (t) => `Aller à l'image clé à ${t} s`,
      remove: "Supprimer",
      removeKeyframe: (t) => `Supprimer l'image clé à ${t} s`,
      start: "Début",
      end: "Fin",
      timeSet: (name, t) => `${name} : ${t} s.`,
      snapped: (name, s, t) => `${name} calé sur le changement de plan à ${s} s (au lieu de ${t} s).`,
      discarded: "Modification du cadre annulée.",
      saving: "Enregistrement…",
      created: (id) => `Zone n° ${id} créée.`,
      saved: (id) => `Zone n° ${id} enregistrée.`,
      defaultKeyframe: " Le cadre actuel est enregistré comme image clé au début de la zone.",
      pendingNotSaved: " Attention : la modification du cadre non ajoutée en image clé n'est pas enregistrée.",
      refused: "Zone refusée : ",
      failed: "Échec : ",
      network: "Le serveur ne répond pas : vérifiez la connexion et réessayez.",
      keyframeError: (i, message) => `Image clé n° ${i} : ${message}`,
      dataInvalid: 'Un objet JSON est attendu, par exemple {"texte": "…"}.',
      noOffer: "— Aucune offre —",
      offersFailed: "Impossible de charger les offres des partenaires.",
      offerKinds: { product: "produit", recipe: "recette", place: "lieu" },
      listEmpty: "Aucune zone pour cet épisode.",
      listFailed: "Impossible de charger les zones de l'épisode.",
      editing: "en cours de modification",
      notPublic: "jamais public",
      edit: "Modifier",
      editLabel: (label) => `Modifier la zone « ${label} »`,
      del: "Supprimer",
      delLabel: (label) => `Supprimer la zone « ${label} »`,
      confirmDelete: (label) =>
        `Supprimer la zone « ${label} » ? Ses chiffres d'audience seront supprimés aussi.`,
      deleted: (label) => `Zone « ${label} » supprimée.`,
      loaded: (label) => `Zone « ${label} » chargée dans le formulaire.`,
      reset: "Formulaire prêt pour une nouvelle zone.",
      seekValue: "Instant où aller (s)",
      locationValue: "Numéro du lieu de tournage",
      keyframesCount: (n) => `${n}`,
      span: (a, b) => `${a} – ${b} s`,
      position: (x, y) => `${x} ; ${y}`,
      size: (w, h) => `${w} × ${h}`,
      seekText: (clock, frame) => `${clock}, ${frame}`,
    }
  : {
      play: "Play",
      pause: "Pause",
      frame: (n) => `frame ${n}`,
      newTitle: "New hotspot",
      editTitle: (id, label) => `Hotspot #${id}: ${label}`,
      boxDraft: "No keyframe yet: set the box, then add a keyframe.",
      boxInterpolated: "Box computed between keyframes.",
      boxOnKeyframe: (t) => `On the keyframe at ${t} s: your changes edit it directly.`,
      boxPending: "Box changed: add a keyframe to keep it (Escape to undo).",
      outside: "outside the hotspot's time span",
      keyframeAdded: (t, n) => `Keyframe added at ${t} s (${n} in all).`,
      keyframeUpdated: (t) => `Keyframe at ${t} s updated.`,
      keyframeRemoved: (t, n) => `Keyframe at ${t} s deleted (${n} left).`,
      keyframeOutside: (t, a, b) =>
        `The current time (${t} s) is outside the hotspot (${a} – ${b} s): set its start and end first.`,
      goTo: "Go",
      goToLabel: (t) => `Go to the keyframe at ${t} s`,
      remove: "Delete",
      removeKeyframe: (t) => `Delete the keyframe at ${t} s`,
      start: "Start",
      end: "End",
      timeSet: (name, t) => `${name}: ${t} s.`,
      snapped: (name, s, t) => `${name} snapped to the shot change at ${s} s (instead of ${t} s).`,
      discarded: "Box change undone.",
      saving: "Saving…",
      created: (id) => `Hotspot #${id} created.`,
      saved: (id) => `Hotspot #${id} saved.`,
      defaultKeyframe: " The current box is saved as a keyframe at the hotspot's start.",
      pendingNotSaved: " Warning: the box change not added as a keyframe was not saved.",
      refused: "Hotspot refused: ",
      failed: "Failed: ",
      network: "The server does not answer: check the connection and try again.",
      keyframeError: (i, message) => `Keyframe #${i}: ${message}`,
      dataInvalid: 'A JSON object is expected, for example {"text": "…"}.',
      noOffer: "— No offer —",
      offersFailed: "The partners' offers could not be loaded.",
      offerKinds: { product: "product", recipe: "recipe", place: "place" },
      listEmpty: "No hotspot in this episode.",
      listFailed: "The episode's hotspots could not be loaded.",
      editing: "being edited",
      notPublic: "never public",
      edit: "Edit",
      editLabel: (label) => `Edit the hotspot “${label}”`,
      del: "Delete",
      delLabel: (label) => `Delete the hotspot “${label}”`,
      confirmDelete: (label) => `Delete the hotspot “${label}”? Its audience figures go too.`,
      deleted: (label) => `Hotspot “${label}” deleted.`,
      loaded: (label) => `Hotspot “${label}” loaded into the form.`,
      reset: "The form is ready for a new hotspot.",
      seekValue: "Time to jump to (s)",
      locationValue: "Filming location number",
      keyframesCount: (n) => `${n}`,
      span: (a, b) => `${a} – ${b} s`,
      position: (x, y) => `${x}, ${y}`,
      size: (w, h) => `${w} × ${h}`,
      seekText: (clock, frame) => `${clock}, ${frame}`,
    };

/** The box at time t: linear between keyframes, held before the first and after the last
 * (the same rule as series.episodes.hotspots.box_at on the server). */
export function boxAt(keyframes, t) {
  if (t <= keyframes[0].t) return { ...keyframes[0] };
  for (let i = 1; i < keyframes.length; i += 1) {
    const before = keyframes[i - 1];
    const after = keyframes[i];
    if (t <= after.t) {
      const span = after.t - before.t;
      const ratio = span ? (t - before.t) / span : 1;
      const box = { t };
      for (const key of KEYS) box[key] = before[key] + (after[key] - before[key]) * ratio;
      return box;
    }
  }
  return { ...keyframes[keyframes.length - 1] };
}

/** The shot change closest to t if it lies within `within` seconds, else null. */
export function snapTime(t, scenes, within) {
  let best = null;
  for (const scene of scenes) {
    const gap = Math.abs(scene - t);
    if (gap <= within + 1e-9 && (best === null || gap < Math.abs(best - t))) best = scene;
  }
  return best;
}

const round = (value, digits) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A box kept inside the picture; `edited` says which value yields when it overflows. */
export function clampBox(box, edited = "move") {
  let w = Math.min(100, Math.max(MIN_SIZE, box.w));
  let h = Math.min(100, Math.max(MIN_SIZE, box.h));
  let x = Math.min(100, Math.max(0, box.x));
  let y = Math.min(100, Math.max(0, box.y));
  if (x + w > 100) {
    if (edited === "x" || edited === "move") x = 100 - w;
    else w = Math.max(MIN_SIZE, 100 - x);
    if (x + w > 100) x = 100 - w;
  }
  if (y + h > 100) {
    if (edited === "y" || edited === "move") y = 100 - h;
    else h = Math.max(MIN_SIZE, 100 - y);
    if (y + h > 100) y = 100 - h;
  }
  return { x: round(x, 2), y: round(y, 2), w: round(w, 2), h: round(h, 2) };
}

const pick = (box) => ({ x: box.x, y: box.y, w: box.w, h: box.h });

export function formatClock(seconds) {
  const total = Math.max(0, seconds || 0);
  const minutes = Math.floor(total / 60);
  const rest = total - minutes * 60;
  return `${minutes}:${rest.toFixed(3).padStart(6, "0")}`;
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

function send(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(url, {
    method,
    credentials: "same-origin",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function init(root) {
  const $ = (selector) => root.querySelector(selector);
  const video = $("[data-video]");
  const stage = $("[data-stage]");
  const overlay = $("[data-overlay]");
  const boxEl = $("[data-box]");
  const boxLabel = $("[data-box-label]");
  const form = $("[data-form]");
  const formTitle = $("[data-form-title]");
  const fields = {
    start: $("#hs-start"),
    end: $("#hs-end"),
    shape: $("#hs-shape"),
    kind: $("#hs-kind"),
    label: $("#hs-label"),
    accessible_label: $("#hs-accessible-label"),
    pause_on_show: $("#hs-pause"),
    action: $("#hs-action"),
    offer: $("#hs-offer"),
    action_value: $("#hs-action-value"),
    data: $("#hs-data"),
  };
  const boxFields = Object.fromEntries(KEYS.map((key) => [key, $(`#hs-${key}`)]));
  const snapToggle = $("[data-snap-toggle]");
  const seekBar = $("[data-seek]");
  const clock = $("[data-clock]");
  const status = $("[data-status]");
  const boxState = $("[data-box-state]");
  const playButton = $("[data-play]");
  const addKeyframeButton = $("[data-add-keyframe]");
  const keyframeRows = $("[data-keyframes]");
  const keyframesWrap = $("[data-keyframes-wrap]");
  const noKeyframes = $("[data-no-keyframes]");
  const offerField = $("[data-offer-field]");
  const actionValueField = $("[data-action-value-field]");
  const actionValueLabel = $("[data-action-value-label]");
  const listRows = $("[data-list]");
  const listWrap = $("[data-list-wrap]");
  const listEmpty = $("[data-list-empty]");

  const fps = Number(root.dataset.fps) || 25;
  const scenes = (root.dataset.scenes || "")
    .split(" ")
    .filter(Boolean)
    .map(Number)
    .filter(Number.isFinite);
  const snapWithin = Number(root.dataset.snap) || 0.5;
  let duration = Number(root.dataset.duration) || 0;
  const api = {
    list: root.dataset.apiList,
    create: root.dataset.apiCreate,
    item: (id) => root.dataset.apiItem.replace(/\/0$/, `/${id}`),
    offers: root.dataset.apiOffers,
  };
  const controls = { ...fields, keyframes: addKeyframeButton };

  if (stage && root.dataset.width && root.dataset.height) {
    stage.style.aspectRatio = `${root.dataset.width} / ${root.dataset.height}`;
  }

  const state = {
    id: null,
    keyframes: [],
    box: { ...DEFAULT_BOX },
    dirty: false,
    time: 0,
    previewEnd: null,
    offers: [],
    hotspots: [],
    saving: false,
  };
  let drag = null;

  // ------------------------------------------------------------ time

  const now = () => (video ? video.currentTime : state.time);
  const frameOf = (t) => Math.round(t * fps);
  const currentT = () => round(now(), 3);
  const playing = () => Boolean(video && !video.paused && !video.ended);
  const num = (input) => (input.value.trim() === "" ? NaN : Number(input.value));

  function pauseVideo() {
    if (playing()) video.pause();
  }

  function seek(t) {
    const limit = duration > 0 ? duration : Infinity;
    const target = Math.min(Math.max(0, t), limit);
    if (video) video.currentTime = target;
    else state.time = target;
    render();
  }

  function step(delta) {
    pauseVideo();
    const frame = Math.max(0, frameOf(now()) + delta);
    seek(frame === 0 ? 0 : frame / fps + FRAME_EPSILON);
  }

  function togglePlay() {
    if (!video) return;
    if (video.paused || video.ended) video.play().catch(() => {});
    else video.pause();
  }

  function announce(text) {
    status.textContent = text;
  }

  // ------------------------------------------------------------ box

  function keyframeIndexAt(t) {
    return state.keyframes.findIndex((k) => Math.abs(k.t - t) < 0.5 / fps);
  }

  function shownBox() {
    if (state.keyframes.length && (playing() || !state.dirty)) return boxAt(state.keyframes, now());
    return state.box;
  }

  function editBox(changes, edited) {
    pauseVideo();
    const box = clampBox({ ...pick(shownBox()), ...changes }, edited);
    const index = keyframeIndexAt(now());
    if (index >= 0) {
      Object.assign(state.keyframes[index], box);
      state.dirty = false;
      renderKeyframes();
    } else {
      state.box = box;
      state.dirty = state.keyframes.length > 0;
    }
    render();
  }

  function nudge(key, resize) {
    const box = shownBox();
    const delta = key === "ArrowLeft" || key === "ArrowUp" ? -1 : 1;
    const horizontal = key === "ArrowLeft" || key === "ArrowRight";
    if (resize) {
      const name = horizontal ? "w" : "h";
      editBox({ [name]: box[name] + delta }, name);
    } else {
      const name = horizontal ? "x" : "y";
      editBox({ [name]: box[name] + delta }, name);
    }
  }

  function discardPending() {
    if (!state.dirty) return;
    state.dirty = false;
    state.box = pick(boxAt(state.keyframes, now()));
    announce(T.discarded);
    render();
  }

  function zoneSpan() {
    return [num(fields.start), num(fields.end)];
  }

  function addKeyframe() {
    pauseVideo();
    clearError("keyframes");
    const t = currentT();
    const [start, end] = zoneSpan();
    if (Number.isFinite(start) && Number.isFinite(end) && (t < start - 1e-6 || t > end + 1e-6)) {
      const message = T.keyframeOutside(fmt3.format(t), fmt3.format(start), fmt3.format(end));
      showError("keyframes", message);
      announce(message);
      return;
    }
    const box = pick(shownBox());
    const index = keyframeIndexAt(t);
    if (index >= 0) {
      Object.assign(state.keyframes[index], box);
      announce(T.keyframeUpdated(fmt3.format(state.keyframes[index].t)));
    } else {
      state.keyframes.push({ t, ...box });
      state.keyframes.sort((a, b) => a.t - b.t);
      announce(T.keyframeAdded(fmt3.format(t), state.keyframes.length));
    }
    state.dirty = false;
    state.box = box;
    renderKeyframes();
    render();
  }

  function removeKeyframe(index) {
    const [removed] = state.keyframes.splice(index, 1);
    if (!state.keyframes.length) state.box = pick(removed);
    state.dirty = false;
    clearError("keyframes");
    renderKeyframes();
    render();
    announce(T.keyframeRemoved(fmt3.format(removed.t), state.keyframes.length));
    const buttons = keyframeRows.querySelectorAll("[data-remove-keyframe]");
    (buttons[Math.min(index, buttons.length - 1)] || addKeyframeButton).focus();
  }

  function applyTime(name, value) {
    let t = value;
    let snapped = null;
    if (snapToggle.checked && Number.isFinite(value)) {
      snapped = snapTime(value, scenes, snapWithin);
      if (snapped !== null) t = snapped;
    }
    fields[name].value = Number.isFinite(t) ? String(round(t, 3)) : "";
    clearError(name);
    const label = name === "start" ? T.start : T.end;
    if (snapped !== null && Math.abs(snapped - value) > 1e-9) {
      announce(T.snapped(label, fmt3.format(snapped), fmt3.format(value)));
    } else if (Number.isFinite(t)) {
      announce(T.timeSet(label, fmt3.format(t)));
    }
    renderKeyframes();
    render();
  }

  function setTimeFromNow(name) {
    pauseVideo();
    applyTime(name, currentT());
  }

  // ------------------------------------------------------------ rendering

  function boxStateText() {
    if (!state.keyframes.length) return T.boxDraft;
    if (state.dirty) return T.boxPending;
    const index = keyframeIndexAt(now());
    if (index >= 0) return T.boxOnKeyframe(fmt3.format(state.keyframes[index].t));
    return T.boxInterpolated;
  }

  function render() {
    const t = now();
    const isPlaying = playing();
    clock.textContent = `${formatClock(t)} / ${formatClock(duration)} · ${T.frame(frameOf(t))}`;
    if (document.activeElement !== seekBar) seekBar.value = String(t);
    seekBar.setAttribute("aria-valuetext", T.seekText(formatClock(t), T.frame(frameOf(t))));
    if (playButton) {
      playButton.querySelector("[data-play-text]").textContent = isPlaying ? T.pause : T.play;
      playButton.querySelector("[data-play-icon]").textContent = isPlaying ? "❚❚" : "▶";
    }
    const box = shownBox();
    for (const key of KEYS) {
      if (document.activeElement !== boxFields[key]) boxFields[key].value = String(round(box[key], 2));
    }
    const [start, end] = zoneSpan();
    const inside = !(t < start - 1e-6 || t > end + 1e-6);
    if (boxEl) {
      boxEl.style.left = `${box.x}%`;
      boxEl.style.top = `${box.y}%`;
      boxEl.style.width = `${box.w}%`;
      boxEl.style.height = `${box.h}%`;
      boxEl.hidden = isPlaying && !inside;
      boxEl.classList.toggle("is-outside", !inside);
      boxEl.classList.toggle("is-ellipse", fields.shape.value === "ellipse");
      boxEl.classList.toggle("is-pending", state.dirty && !isPlaying);
      boxEl.classList.toggle("is-keyframe", !isPlaying && keyframeIndexAt(t) >= 0);
      boxLabel.textContent = fields.label.value;
    }
    if (!isPlaying) {
      const text = boxStateText();
      if (boxState.textContent !== text) boxState.textContent = text;
    }
    for (const row of keyframeRows.rows) {
      row.classList.toggle("is-current", Math.abs(Number(row.dataset.t) - t) < 0.5 / fps);
    }
  }

  function renderKeyframes() {
    const [start, end] = zoneSpan();
    keyframeRows.replaceChildren(
      ...state.keyframes.map((k, index) => {
        const t = fmt3.format(k.t);
        const outside = k.t < start - 1e-6 || k.t > end + 1e-6;
        const head = element("th", { scope: "row" }, [t]);
        if (outside) head.append(" ", element("span", { class: "hs-outside", text: `(${T.outside})` }));
        return element("tr", { "data-t": String(k.t), class: outside ? "is-outside" : "" }, [
          head,
          element("td", { text: T.position(fmt1.format(k.x), fmt1.format(k.y)) }),
          element("td", { text: T.size(fmt1.format(k.w), fmt1.format(k.h)) }),
          element("td", { class: "hs-row-actions" }, [
            element("button", {
              type: "button",
              class: "button button-secondary button-small",
              "aria-label": T.goToLabel(t),
              text: T.goTo,
              onclick: () => {
                pauseVideo();
                seek(k.t === 0 ? 0 : k.t + FRAME_EPSILON);
              },
            }),
            " ",
            element("button", {
              type: "button",
              class: "button button-secondary button-small",
              "aria-label": T.removeKeyframe(t),
              "data-remove-keyframe": "",
              text: T.remove,
              onclick: () => removeKeyframe(index),
            }),
          ]),
        ]);
      }),
    );
    keyframesWrap.hidden = !state.keyframes.length;
    noKeyframes.hidden = state.keyframes.length > 0;
  }

  // ------------------------------------------------------------ errors

  function errorFor(name) {
    return root.querySelector(`[data-error-for="${name}"]`);
  }

  function describe(control, id, on) {
    const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    if (on) ids.add(id);
    else ids.delete(id);
    if (ids.size) control.setAttribute("aria-describedby", [...ids].join(" "));
    else control.removeAttribute("aria-describedby");
  }

  function showError(name, message, focus = false) {
    const node = errorFor(name);
    if (!node) return false;
    node.textContent = message;
    node.hidden = false;
    root.querySelector(`[data-field="${name}"]`)?.classList.add("has-error");
    const control = controls[name];
    if (control) {
      if (control.tagName !== "BUTTON") control.setAttribute("aria-invalid", "true");
      describe(control, node.id, true);
      if (focus) control.focus();
    }
    return true;
  }

  function clearError(name) {
    const node = errorFor(name);
    if (!node || node.hidden) return;
    node.hidden = true;
    node.textContent = "";
    root.querySelector(`[data-field="${name}"]`)?.classList.remove("has-error");
    const control = controls[name];
    if (control) {
      control.removeAttribute("aria-invalid");
      describe(control, node.id, false);
    }
  }

  function clearErrors() {
    for (const node of root.querySelectorAll("[data-error-for]")) clearError(node.dataset.errorFor);
    for (const row of keyframeRows.rows) row.classList.remove("has-error");
  }

  function showRefusal(body) {
    const field = String(body.field || "");
    const name = field.split(/[.[]/)[0];
    let message = body.message || body.error || "";
    const match = /^keyframes\[(\d+)\]/.exec(field);
    if (match) {
      const index = Number(match[1]);
      message = T.keyframeError(index + 1, message);
      keyframeRows.rows[index]?.classList.add("has-error");
    }
    if (!showError(name, message, true)) formTitle.focus();
    announce(T.refused + message);
  }

  // ------------------------------------------------------------ kinds, actions, offers

  function kindOption() {
    return fields.kind.selectedOptions[0];
  }

  function words(value) {
    return (value || "").split(" ").filter(Boolean);
  }

  function updateKind() {
    const option = kindOption();
    const actions = words(option?.dataset.actions);
    for (const opt of fields.action.options) {
      const allowed = actions.includes(opt.value);
      opt.disabled = !allowed;
      opt.hidden = !allowed;
    }
    if (!actions.includes(fields.action.value)) fields.action.value = actions[0] || "card";
    const offerKinds = words(option?.dataset.offerKinds);
    const current = fields.offer.value;
    fields.offer.replaceChildren(new Option(T.noOffer, ""));
    for (const offer of state.offers) {
      if (!offerKinds.includes(offer.kind)) continue;
      const kind = T.offerKinds[offer.kind] || offer.kind;
      fields.offer.add(new Option(`${offer.title} — ${offer.partner} (${kind})`, String(offer.id)));
    }
    fields.offer.value = [...fields.offer.options].some((o) => o.value === current) ? current : "";
    offerField.hidden = offerKinds.length === 0;
    updateAction();
  }

  function updateAction() {
    const action = fields.action.value;
    const needsValue = action === "seek" || action === "location";
    actionValueField.hidden = !needsValue;
    actionValueLabel.textContent = action === "location" ? T.locationValue : T.seekValue;
    fields.action_value.step = action === "location" ? "1" : "0.001";
  }

  async function loadOffers() {
    try {
      const response = await send("GET", api.offers);
      if (!response.ok) throw new Error(String(response.status));
      state.offers = await response.json();
    } catch {
      announce(T.offersFailed);
    }
    updateKind();
  }

  // ------------------------------------------------------------ list of hotspots

  function kindLabel(name) {
    const option = [...fields.kind.options].find((o) => o.value === name);
    return option ? option.textContent.trim() : name;
  }

  function renderList() {
    listRows.replaceChildren(
      ...state.hotspots.map((h) => {
        const head = element("th", { scope: "row" }, [h.label]);
        if (h.id === state.id) head.append(" ", element("span", { class: "badge", text: T.editing }));
        return element("tr", { "data-hotspot-id": String(h.id) }, [
          head,
          element("td", { text: kindLabel(h.kind) }),
          element("td", { text: T.span(fmt3.format(h.start), fmt3.format(h.end)) }),
          element("td", { text: T.keyframesCount(h.keyframes.length) }),
          element("td", { text: h.offer ? h.offer.title : "—" }),
          element("td", { class: "hs-row-actions" }, [
            element("button", {
              type: "button",
              class: "button button-secondary button-small",
              "aria-label": T.editLabel(h.label),
              "data-edit": String(h.id),
              text: T.edit,
              onclick: () => loadHotspot(h),
            }),
            " ",
            element("button", {
              type: "button",
              class: "button button-secondary button-small",
              "aria-label": T.delLabel(h.label),
              "data-delete": String(h.id),
              text: T.del,
              onclick: () => removeHotspot(h),
            }),
          ]),
        ]);
      }),
    );
    listWrap.hidden = !state.hotspots.length;
    listEmpty.hidden = state.hotspots.length > 0;
    listEmpty.textContent = T.listEmpty;
  }

  async function loadList() {
    try {
      const response = await send("GET", api.list);
      if (!response.ok) throw new Error(String(response.status));
      state.hotspots = await response.json();
      renderList();
    } catch {
      listEmpty.hidden = false;
      listEmpty.textContent = T.listFailed;
    }
  }

  function loadHotspot(h) {
    clearErrors();
    state.id = h.id;
    state.keyframes = h.keyframes.map((k) => ({ ...k })).sort((a, b) => a.t - b.t);
    state.dirty = false;
    state.box = pick(boxAt(state.keyframes, h.start));
    fields.kind.value = h.kind;
    updateKind();
    fields.start.value = String(h.start);
    fields.end.value = String(h.end);
    fields.shape.value = h.shape;
    fields.label.value = h.label;
    fields.accessible_label.value = h.accessible_label || "";
    fields.pause_on_show.checked = Boolean(h.pause_on_show);
    fields.action.value = h.action;
    fields.offer.value = h.offer_id ? String(h.offer_id) : "";
    fields.action_value.value = h.action_value ?? "";
    fields.data.value = h.data && Object.keys(h.data).length ? JSON.stringify(h.data, null, 2) : "";
    updateAction();
    formTitle.textContent = T.editTitle(h.id, h.label);
    renderKeyframes();
    renderList();
    pauseVideo();
    seek(h.start === 0 ? 0 : h.start + FRAME_EPSILON);
    formTitle.focus();
    announce(T.loaded(h.label));
  }

  function resetForm() {
    clearErrors();
    state.id = null;
    state.keyframes = [];
    state.dirty = false;
    state.box = { ...DEFAULT_BOX };
    const t = currentT();
    fields.start.value = String(t);
    fields.end.value = String(round(duration > 0 ? Math.min(duration, t + 5) : t + 5, 3));
    fields.shape.value = "rect";
    fields.label.value = "";
    fields.accessible_label.value = "";
    fields.pause_on_show.checked = false;
    fields.data.value = "";
    fields.action_value.value = "";
    fields.offer.value = "";
    updateKind();
    formTitle.textContent = T.newTitle;
    renderKeyframes();
    renderList();
    render();
  }

  async function removeHotspot(h) {
    if (!window.confirm(T.confirmDelete(h.label))) return;
    let response;
    try {
      response = await send("DELETE", api.item(h.id));
    } catch {
      announce(T.network);
      return;
    }
    if (response.status !== 204 && response.status !== 404) {
      announce(T.failed + ((await jsonOf(response)).message || response.status));
      return;
    }
    if (state.id === h.id) resetForm();
    await loadList();
    announce(T.deleted(h.label));
    formTitle.focus();
  }

  // ------------------------------------------------------------ saving

  function payload() {
    const raw = fields.data.value.trim();
    let data = {};
    if (raw) {
      try {
        data = JSON.parse(raw);
      } catch {
        data = null;
      }
      if (!data || typeof data !== "object" || Array.isArray(data)) return null;
    }
    const start = num(fields.start);
    let keyframes = state.keyframes.map((k) => ({ t: k.t, ...pick(k) }));
    if (!keyframes.length) keyframes = [{ t: start, ...pick(state.box) }];
    const action = fields.action.value;
    return {
      kind: fields.kind.value,
      start,
      end: num(fields.end),
      keyframes,
      shape: fields.shape.value,
      label: fields.label.value,
      accessible_label: fields.accessible_label.value,
      pause_on_show: fields.pause_on_show.checked,
      action,
      offer: fields.offer.value && !offerField.hidden ? Number(fields.offer.value) : null,
      action_value: action === "seek" || action === "location" ? num(fields.action_value) : null,
      data,
    };
  }

  async function save() {
    if (state.saving) return;
    clearErrors();
    const body = payload();
    if (body === null) {
      showError("data", T.dataInvalid, true);
      announce(T.refused + T.dataInvalid);
      return;
    }
    const note = !state.keyframes.length ? T.defaultKeyframe : state.dirty ? T.pendingNotSaved : "";
    const creating = state.id === null;
    state.saving = true;
    announce(T.saving);
    let response;
    try {
      response = await send(
        creating ? "POST" : "PUT",
        creating ? api.create : api.item(state.id),
        body,
      );
    } catch {
      announce(T.network);
      return;
    } finally {
      state.saving = false;
    }
    const result = await jsonOf(response);
    if (response.status === 422) {
      showRefusal(result);
      return;
    }
    if (!response.ok) {
      announce(T.failed + (result.message || `HTTP ${response.status}`));
      return;
    }
    state.id = result.id;
    state.keyframes = result.keyframes.map((k) => ({ ...k }));
    state.dirty = false;
    formTitle.textContent = T.editTitle(result.id, result.label);
    renderKeyframes();
    render();
    await loadList();
    announce((creating ? T.created(result.id) : T.saved(result.id)) + note);
  }

  // ------------------------------------------------------------ pointer drawing

  function toPercent(event) {
    const rect = overlay.getBoundingClientRect();
    return {
      x: Math.min(100, Math.max(0, ((event.clientX - rect.left) / rect.width) * 100)),
      y: Math.min(100, Math.max(0, ((event.clientY - rect.top) / rect.height) * 100)),
    };
  }

  function dragTo(point) {
    const dx = point.x - drag.origin.x;
    const dy = point.y - drag.origin.y;
    const from = drag.from;
    if (drag.mode === "move") {
      editBox({ x: from.x + dx, y: from.y + dy }, "move");
    } else if (drag.mode === "draw") {
      if (Math.abs(dx) < MIN_SIZE && Math.abs(dy) < MIN_SIZE) return;
      const x = Math.min(drag.origin.x, point.x);
      const y = Math.min(drag.origin.y, point.y);
      editBox({ x, y, w: Math.abs(dx), h: Math.abs(dy) }, "draw");
    } else {
      const handle = drag.handle;
      let { x, y, w, h } = from;
      if (handle.includes("w")) {
        const right = from.x + from.w;
        x = Math.min(from.x + dx, right - MIN_SIZE);
        w = right - x;
      } else if (handle.includes("e")) {
        w = from.w + dx;
      }
      if (handle.includes("n")) {
        const bottom = from.y + from.h;
        y = Math.min(from.y + dy, bottom - MIN_SIZE);
        h = bottom - y;
      } else if (handle.includes("s")) {
        h = from.h + dy;
      }
      editBox({ x, y, w, h }, "resize");
    }
  }

  if (overlay) {
    overlay.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      video.focus({ preventScroll: true });
      pauseVideo();
      const handle = event.target.closest("[data-handle]")?.dataset.handle;
      const onBox = !boxEl.hidden && event.target.closest("[data-box]");
      const mode = handle ? "resize" : onBox ? "move" : "draw";
      drag = { mode, handle, origin: toPercent(event), from: pick(shownBox()) };
      overlay.setPointerCapture(event.pointerId);
    });
    overlay.addEventListener("pointermove", (event) => {
      if (drag) dragTo(toPercent(event));
    });
    const stop = () => {
      drag = null;
    };
    overlay.addEventListener("pointerup", stop);
    overlay.addEventListener("pointercancel", stop);
  }

  // ------------------------------------------------------------ wiring

  function loop() {
    if (state.previewEnd !== null && now() >= state.previewEnd) {
      video.pause();
      state.previewEnd = null;
    }
    render();
    if (playing()) requestAnimationFrame(loop);
  }

  if (video) {
    video.addEventListener("play", () => requestAnimationFrame(loop));
    video.addEventListener("pause", () => {
      state.previewEnd = null;
      render();
    });
    for (const name of ["seeked", "timeupdate", "ended"]) {
      video.addEventListener(name, () => {
        if (!playing()) render();
      });
    }
    video.addEventListener("loadedmetadata", () => {
      if (Number.isFinite(video.duration) && video.duration > 0) {
        duration = video.duration;
        seekBar.max = String(duration);
      }
      render();
    });
    video.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const key = event.key;
      let handled = true;
      if (key === " " || key === "k" || key === "K") togglePlay();
      else if (key === ",") step(-1);
      else if (key === ".") step(1);
      else if (key.startsWith("Arrow")) nudge(key, event.shiftKey);
      else if (key === "Enter") addKeyframe();
      else if (key === "i" || key === "I") setTimeFromNow("start");
      else if (key === "o" || key === "O") setTimeFromNow("end");
      else if (key === "Escape") discardPending();
      else handled = false;
      if (handled) event.preventDefault();
    });
  }

  playButton?.addEventListener("click", togglePlay);
  for (const button of root.querySelectorAll("[data-step]")) {
    button.addEventListener("click", () => step(Number(button.dataset.step)));
  }
  $("[data-preview]")?.addEventListener("click", () => {
    const [start, end] = zoneSpan();
    if (!video || !Number.isFinite(start)) return;
    video.currentTime = Math.max(0, start - PREVIEW_LEAD_S);
    state.previewEnd = Number.isFinite(end) ? end : null;
    video.play().catch(() => {});
  });
  for (const button of root.querySelectorAll("[data-goto]")) {
    button.addEventListener("click", () => {
      pauseVideo();
      seek(Number(button.dataset.goto) + FRAME_EPSILON);
    });
  }
  seekBar.addEventListener("input", () => {
    pauseVideo();
    seek(seekBar.valueAsNumber);
  });
  for (const button of root.querySelectorAll("[data-set-time]")) {
    button.addEventListener("click", () => setTimeFromNow(button.dataset.setTime));
  }
  for (const name of ["start", "end"]) {
    fields[name].addEventListener("change", () => applyTime(name, num(fields[name])));
  }
  snapToggle.addEventListener("change", () => {
    // Turning snapping on aligns the times already set.
    if (!snapToggle.checked) return;
    for (const name of ["start", "end"]) {
      const value = num(fields[name]);
      const snapped = Number.isFinite(value) ? snapTime(value, scenes, snapWithin) : null;
      if (snapped !== null && Math.abs(snapped - value) > 1e-9) applyTime(name, value);
    }
  });
  for (const key of KEYS) {
    const input = boxFields[key];
    input.addEventListener("input", () => {
      if (Number.isFinite(input.valueAsNumber)) editBox({ [key]: input.valueAsNumber }, key);
    });
    input.addEventListener("change", () => {
      input.value = String(round(shownBox()[key], 2));
    });
  }
  fields.shape.addEventListener("change", render);
  fields.label.addEventListener("input", render);
  fields.kind.addEventListener("change", updateKind);
  fields.action.addEventListener("change", updateAction);
  addKeyframeButton.addEventListener("click", addKeyframe);
  $("[data-new]").addEventListener("click", () => {
    resetForm();
    announce(T.reset);
    formTitle.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });

  resetForm();
  loadOffers().then(loadList);
}

const root = document.querySelector("[data-hotspot-editor]");
if (root) init(root);
