// Episode player: HLS (native, or hls.js light loaded only when needed) with the MP4 <source>
// as the fallback, captions by interface language, chapters, keyboard shortcuts announced to
// screen readers, #t= deep links and resume. The <video controls> works without this file.

import { setupClues } from "./clues.js";
import { setupOverlay } from "./overlay.js";

const HLS_MODULE = new URL("../vendor/hls.light.min.mjs", import.meta.url).href;
const HLS_TYPE = "application/vnd.apple.mpegurl";
const SAVE_EVERY_MS = 5000;
const MIN_RESUME_S = 3;

const lang = document.documentElement.lang === "en" ? "en" : "fr";
const TEXT = {
  fr: {
    playing: "Lecture",
    paused: "Pause",
    forward: (s, at) => `Avance de ${s} s, ${at}`,
    back: (s, at) => `Retour de ${s} s, ${at}`,
    muted: "Son coupé",
    unmuted: "Son rétabli",
    captionsOn: (label) => `Sous-titres activés : ${label}`,
    captionsOff: "Sous-titres désactivés",
    noCaptions: "Pas de sous-titres pour cet épisode",
    fullscreenOn: "Plein écran",
    fullscreenOff: "Sortie du plein écran",
    chapters: "Chapitres",
    chapterAt: (title, at) => `Chapitre : ${title}, ${at}`,
    resumed: (at) => `Reprise à ${at}, là où vous vous étiez arrêté.`,
    restart: "Recommencer",
    restarted: "Lecture depuis le début",
    keys: "Raccourcis clavier",
    keyList: [
      ["Espace, K", "lecture / pause"],
      ["J, L", "reculer / avancer de 10 s"],
      ["← →", "reculer / avancer de 5 s"],
      ["F", "plein écran"],
      ["C", "sous-titres"],
      ["M", "couper le son"],
    ],
  },
  en: {
    playing: "Playing",
    paused: "Paused",
    forward: (s, at) => `Forward ${s} s, ${at}`,
    back: (s, at) => `Back ${s} s, ${at}`,
    muted: "Muted",
    unmuted: "Sound on",
    captionsOn: (label) => `Subtitles on: ${label}`,
    captionsOff: "Subtitles off",
    noCaptions: "No subtitles for this episode",
    fullscreenOn: "Full screen",
    fullscreenOff: "Left full screen",
    chapters: "Chapters",
    chapterAt: (title, at) => `Chapter: ${title}, ${at}`,
    resumed: (at) => `Resuming at ${at}, where you left off.`,
    restart: "Start over",
    restarted: "Playing from the start",
    keys: "Keyboard shortcuts",
    keyList: [
      ["Space, K", "play / pause"],
      ["J, L", "back / forward 10 s"],
      ["← →", "back / forward 5 s"],
      ["F", "full screen"],
      ["C", "subtitles"],
      ["M", "mute"],
    ],
  },
}[lang];

/** "03:12", or "1:02:03" past an hour. */
export function formatTime(seconds) {
  const total = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${String(m).padStart(2, "0")}:${s}`;
}

/** Seconds from "90", "90.5", "1m30s", "1h2m3s", "1:30" or "1:02:03"; null if not a time. */
export function parseTime(value) {
  const text = String(value ?? "").trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const clock = /^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(text);
  if (clock) return Number(clock[1] || 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  const units = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (units && (units[1] || units[2] || units[3])) {
    return Number(units[1] || 0) * 3600 + Number(units[2] || 0) * 60 + Number(units[3] || 0);
  }
  return null;
}

/** The #t= of the address (also "#t=90,120" media-fragment style), or null. */
function hashTime() {
  const value = new URLSearchParams(location.hash.slice(1)).get("t");
  return value === null ? null : parseTime(value.split(",")[0]);
}

const store = {
  get(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      // Storage full or disabled (private mode): resume is a nicety.
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      // Same as above.
    }
  },
};

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function setupPlayer(root) {
  const video = root.querySelector("video");
  if (!video) return;
  const source = video.querySelector("source");
  const audioLang = root.dataset.audioLang || "fr";
  const storageKey = `experts:position:${root.dataset.episode}`;
  let hls = null;
  // Below the player, in this order: the resume prompt, the chapters, the shortcuts.
  const below = el("div", { className: "player-below" });
  root.after(below);

  // ---- Announcements (one polite live region per player) ----
  const status = el("p", { className: "visually-hidden" });
  status.setAttribute("aria-live", "polite");
  status.setAttribute("aria-atomic", "true");
  status.dataset.playerStatus = "";
  root.append(status);
  let clearStatus = 0;
  function announce(message) {
    // Emptied first so the same message twice is read twice.
    status.textContent = "";
    clearTimeout(clearStatus);
    requestAnimationFrame(() => {
      status.textContent = message;
    });
    clearStatus = setTimeout(() => {
      status.textContent = "";
    }, 5000);
  }

  const duration = () =>
    Number.isFinite(video.duration) && video.duration > 0
      ? video.duration
      : Number(root.dataset.duration) || 0;

  function seekWhenReady(seconds, play = false) {
    const go = () => {
      const end = duration();
      video.currentTime = end ? Math.min(seconds, Math.max(0, end - 0.5)) : seconds;
      if (play) video.play().catch(() => {});
    };
    if (video.readyState >= HTMLMediaElement.HAVE_METADATA) go();
    else video.addEventListener("loadedmetadata", go, { once: true });
  }

  // ---- Playback engine ----
  function useMp4() {
    const at = video.currentTime;
    const playing = !video.paused;
    if (hls) {
      hls.destroy();
      hls = null;
    }
    root.dataset.engine = "mp4";
    video.removeAttribute("src");
    video.load(); // back to the <source> element
    if (at > 0 || playing) seekWhenReady(at, playing);
  }

  function mseUsable() {
    const MS = window.ManagedMediaSource || window.MediaSource;
    return Boolean(MS && MS.isTypeSupported?.('video/mp4; codecs="avc1.42E01E,mp4a.40.2"'));
  }

  async function chooseEngine(start) {
    const url = root.dataset.hls;
    if (url && video.canPlayType(HLS_TYPE)) {
      root.dataset.engine = "native";
      video.addEventListener("error", () => root.dataset.engine === "native" && useMp4(), {
        once: true,
      });
      video.src = url;
      return;
    }
    if (url && source && mseUsable()) {
      try {
        const { default: Hls } = await import(HLS_MODULE);
        if (Hls.isSupported()) {
          const at = start ?? video.currentTime;
          const playing = !video.paused;
          hls = new Hls({ capLevelToPlayerSize: true, startPosition: at > 0 ? at : -1 });
          hls.on(Hls.Events.ERROR, (_event, data) => {
            if (data.fatal) useMp4();
          });
          root.dataset.engine = "hls.js";
          hls.attachMedia(video);
          hls.loadSource(url);
          if (playing) video.play().catch(() => {});
          return;
        }
      } catch {
        // The module did not load: the MP4 stays.
      }
    }
    root.dataset.engine = "mp4";
  }

  // ---- Text tracks: captions by language, chapters ----
  const captionTracks = () =>
    [...video.textTracks].filter((t) => t.kind === "subtitles" || t.kind === "captions");
  let lastCaptions = null;

  function showCaptions(track) {
    for (const t of captionTracks()) t.mode = t === track ? "showing" : "disabled";
    if (track) lastCaptions = track;
  }

  function defaultCaptions() {
    if (lang === audioLang) return null;
    return captionTracks().find((t) => t.kind === "subtitles" && t.language === lang) || null;
  }

  function toggleCaptions() {
    const tracks = captionTracks();
    if (!tracks.length) return announce(TEXT.noCaptions);
    const showing = tracks.find((t) => t.mode === "showing");
    if (showing) {
      showCaptions(null);
      return announce(TEXT.captionsOff);
    }
    const next =
      lastCaptions && tracks.includes(lastCaptions)
        ? lastCaptions
        : tracks.find((t) => t.language === lang) || tracks[0];
    showCaptions(next);
    announce(TEXT.captionsOn(next.label || next.language));
  }

  video.textTracks.addEventListener("change", () => {
    const showing = captionTracks().find((t) => t.mode === "showing");
    if (showing) lastCaptions = showing;
  });

  function setupChapters() {
    const elements = [...video.querySelectorAll("track[kind=chapters]")];
    if (!elements.length) return;
    const chosen = elements.find((t) => t.srclang === lang) || elements[0];
    const track = chosen.track;
    let nav = null;
    let buttons = [];

    function render() {
      const cues = [...(track.cues || [])];
      if (!cues.length || nav) return;
      const heading = el("h2", { id: `chapters-${root.dataset.episode}`, textContent: TEXT.chapters });
      buttons = cues.map((cue) => {
        const button = el("button", { type: "button", className: "button-secondary" }, [
          el("span", { className: "chapter-time", textContent: formatTime(cue.startTime) }),
          el("span", { className: "chapter-title", textContent: cue.text }),
        ]);
        button.dataset.start = String(cue.startTime);
        button.addEventListener("click", () => {
          seekWhenReady(cue.startTime, true);
          announce(TEXT.chapterAt(cue.text, formatTime(cue.startTime)));
        });
        return button;
      });
      nav = el("nav", { className: "player-chapters" }, [
        heading,
        el(
          "ol",
          {},
          buttons.map((b) => el("li", {}, [b])),
        ),
      ]);
      nav.setAttribute("aria-labelledby", heading.id);
      below.insertBefore(nav, help);
      markCurrent();
    }

    function markCurrent() {
      const t = video.currentTime;
      const cues = [...(track.cues || [])];
      cues.forEach((cue, i) => {
        const current = t >= cue.startTime && t < cue.endTime;
        if (!buttons[i]) return;
        if (current) buttons[i].setAttribute("aria-current", "true");
        else buttons[i].removeAttribute("aria-current");
      });
    }

    track.mode = "hidden"; // loads the cues without drawing them
    chosen.addEventListener("load", render);
    if (chosen.readyState === HTMLTrackElement.LOADED) render();
    video.addEventListener("timeupdate", () => nav && markCurrent());
  }

  // ---- Keyboard ----
  function seekBy(delta) {
    const end = duration();
    const target = Math.max(0, Math.min(end || Infinity, video.currentTime + delta));
    video.currentTime = target;
    const say = delta > 0 ? TEXT.forward : TEXT.back;
    announce(say(Math.abs(delta), formatTime(target)));
  }

  function togglePlay() {
    if (video.paused || video.ended) {
      video
        .play()
        .then(() => announce(TEXT.playing))
        .catch(() => {});
    } else {
      video.pause();
      announce(TEXT.paused);
    }
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen().then(() => announce(TEXT.fullscreenOff), () => {});
    } else if (root.requestFullscreen) {
      // The container, not the video: the hotspot overlay and card stay on screen.
      root.requestFullscreen().then(() => announce(TEXT.fullscreenOn), () => {});
    } else if (video.webkitEnterFullscreen) {
      video.webkitEnterFullscreen(); // iPhone
    }
  }

  const shortcuts = {
    " ": togglePlay,
    k: togglePlay,
    j: () => seekBy(-10),
    l: () => seekBy(10),
    ArrowLeft: () => seekBy(-5),
    ArrowRight: () => seekBy(5),
    f: toggleFullscreen,
    c: toggleCaptions,
    m: () => {
      video.muted = !video.muted;
      announce(video.muted ? TEXT.muted : TEXT.unmuted);
    },
  };

  function shortcutOf(event) {
    if (event.target !== video && event.target !== root) return null;
    if (event.altKey || event.ctrlKey || event.metaKey) return null;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    return shortcuts[key] || null;
  }
  // Capture phase, so the browser's own media keys (Chromium toggles a focused <video> on the
  // key-up of Space, from a listener on the video itself) see a handled event and stay quiet.
  root.addEventListener(
    "keydown",
    (event) => {
      const action = shortcutOf(event);
      if (!action) return;
      event.preventDefault();
      action();
    },
    { capture: true },
  );
  root.addEventListener(
    "keyup",
    (event) => {
      if (shortcutOf(event)) event.preventDefault();
    },
    { capture: true },
  );

  const help = el("details", { className: "player-keys" }, [
    el("summary", { textContent: TEXT.keys }),
    el(
      "ul",
      {},
      TEXT.keyList.map(([keys, what]) =>
        el("li", {}, [el("kbd", { textContent: keys }), ` ${what}`]),
      ),
    ),
  ]);
  below.append(help);

  // ---- Resume and deep links ----
  let touched = false; // nothing is saved before the viewer played or sought
  let lastSave = 0;

  // The last 5 % (2 s to 2 min): the credits. Stopping there means "seen", not "resume".
  function nearEnd(t, end) {
    return end > 0 && t >= end - Math.max(2, Math.min(end * 0.05, 120));
  }

  function save() {
    if (!touched) return;
    const t = video.currentTime;
    if (video.ended || t < MIN_RESUME_S || nearEnd(t, duration())) store.remove(storageKey);
    else store.set(storageKey, { t: Math.round(t * 10) / 10, d: duration(), at: Date.now() });
    lastSave = Date.now();
  }

  video.addEventListener("play", () => {
    touched = true;
  });
  video.addEventListener("seeked", () => {
    touched = true;
    save();
  });
  video.addEventListener("timeupdate", () => {
    if (Date.now() - lastSave >= SAVE_EVERY_MS) save();
  });
  video.addEventListener("pause", save);
  video.addEventListener("ended", () => {
    store.remove(storageKey);
    prompt?.remove();
  });
  addEventListener("pagehide", save);
  document.addEventListener("visibilitychange", () => document.hidden && save());

  let prompt = null;
  function offerRestart(at) {
    const restart = el("button", {
      type: "button",
      className: "button-secondary button-small",
      textContent: TEXT.restart,
    });
    prompt = el("div", { className: "player-resume" }, [
      el("p", { textContent: TEXT.resumed(formatTime(at)) }),
      restart,
    ]);
    prompt.dataset.playerResume = "";
    restart.addEventListener("click", () => {
      store.remove(storageKey);
      seekWhenReady(0);
      prompt.remove();
      video.focus();
      announce(TEXT.restarted);
    });
    below.prepend(prompt);
  }

  function startPosition() {
    const linked = hashTime();
    if (linked !== null) return linked;
    const saved = store.get(storageKey);
    const end = Number(root.dataset.duration) || saved?.d || 0;
    if (saved && saved.t >= MIN_RESUME_S && !nearEnd(saved.t, end)) {
      offerRestart(saved.t);
      return saved.t;
    }
    if (saved) store.remove(storageKey);
    return null;
  }

  addEventListener("hashchange", () => {
    const t = hashTime();
    if (t !== null) seekWhenReady(t);
  });

  // ---- Start ----
  const initial = defaultCaptions();
  showCaptions(initial);
  setupOverlay(root, video);
  setupClues(root, video);
  setupChapters();
  const start = startPosition();
  chooseEngine(start).then(() => {
    if (start !== null) seekWhenReady(start);
  });
}

for (const root of document.querySelectorAll("[data-player]")) setupPlayer(root);
