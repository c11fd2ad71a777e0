// The clue game on the episode page. The browser knows nothing of where clues are: in
// investigation mode a click on the picture sends the frame time and the point (% of the
// picture) to the server, which answers found or not. "Examine the scene" lists the regions
// of the current frame (clues hide among them) for keyboards and screen readers.

const lang = document.documentElement.lang === "en" ? "en" : "fr";
const TEXT = {
  fr: {
    modeOn: "Mode enquête activé : cliquez sur l'image là où vous voyez un indice.",
    modeOff: "Mode enquête désactivé.",
    found: (title, points) => `Indice trouvé : ${title} (+${points} points).`,
    already: (title) => `Vous aviez déjà trouvé cet indice : ${title}.`,
    missed: "Rien de suspect ici.",
    outside: "Cliquez sur l'image elle-même.",
    preview: (found) => (found ? "Aperçu : un indice est bien là." : "Aperçu : rien ici."),
    regions: (at) => `Régions de l'image à ${at}`,
    failed: "La vérification n'a pas abouti. Réessayez.",
    offline: "Pas de réseau : réessayez quand la connexion revient.",
  },
  en: {
    modeOn: "Investigation mode on: click on the picture where you see a clue.",
    modeOff: "Investigation mode off.",
    found: (title, points) => `Clue found: ${title} (+${points} points).`,
    already: (title) => `You had already found this clue: ${title}.`,
    missed: "Nothing suspicious here.",
    outside: "Click on the picture itself.",
    preview: (found) => (found ? "Preview: there is a clue here." : "Preview: nothing here."),
    regions: (at) => `Regions of the picture at ${at}`,
    failed: "The check did not go through. Please try again.",
    offline: "No network: try again when the connection is back.",
  },
}[lang];

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** The point of a click in % of the picture (letterboxing excluded), or null outside it. */
export function pointInPicture(video, clientX, clientY) {
  const v = video.getBoundingClientRect();
  let [x, y, w, h] = [v.left, v.top, v.width, v.height];
  if (video.videoWidth && video.videoHeight && v.width && v.height) {
    const scale = Math.min(v.width / video.videoWidth, v.height / video.videoHeight);
    w = video.videoWidth * scale;
    h = video.videoHeight * scale;
    x = v.left + (v.width - w) / 2;
    y = v.top + (v.height - h) / 2;
  }
  const px = ((clientX - x) / w) * 100;
  const py = ((clientY - y) / h) * 100;
  if (!(px >= 0 && px <= 100 && py >= 0 && py <= 100)) return null;
  return { x: Math.round(px * 100) / 100, y: Math.round(py * 100) / 100 };
}

export function setupClues(root, video) {
  const panel = document.querySelector(`[data-clue-panel="${root.dataset.episode}"]`);
  if (!panel || !video) return;
  const episode = root.dataset.episode;
  const layer = root.querySelector("[data-clue-layer]");
  const modeButton = panel.querySelector("[data-clue-mode]");
  const examineButton = panel.querySelector("[data-clue-examine]");
  const status = panel.querySelector("[data-clue-status]");
  const regionsBox = panel.querySelector("[data-clue-regions]");
  const regionsTitle = panel.querySelector("[data-clue-regions-title]");
  const regionsList = panel.querySelector("[data-clue-regions-list]");
  const foundList = panel.querySelector("[data-clue-found]");
  const foundCount = panel.querySelector("[data-clue-found-count]");
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  for (const node of panel.querySelectorAll("[data-needs-js]")) node.hidden = false;

  const say = (text) => {
    status.textContent = "";
    setTimeout(() => (status.textContent = text), 30);
  };

  async function post(path, body) {
    const response = await fetch(`/api/v1/episodes/${episode}/${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
    return { status: response.status, data: await response.json().catch(() => ({})) };
  }

  // The server measures watching time from the first play: claims cannot outrun it. A visitor
  // who has not played yet gets a signed ticket (no cookie) that their first claim carries.
  let viewing = null;
  let ticket = null;
  const startViewing = () =>
    (viewing ||= post("viewings", {})
      .then(({ data }) => (ticket = data.ticket || null))
      .catch(() => (viewing = null)));
  video.addEventListener("play", startViewing);

  function addFound(clue) {
    if (foundList.querySelector(`[data-clue="${clue.id}"]`)) return;
    const item = document.createElement("li");
    item.dataset.clue = String(clue.id);
    const title = Object.assign(document.createElement("strong"), { textContent: clue.title });
    item.append(title, ` — ${clue.text} `);
    item.append(Object.assign(document.createElement("span"), {
      className: "muted",
      textContent: `(${clock(clue.t)}, +${clue.points})`,
    }));
    foundList.append(item);
    foundList.closest("[hidden]")?.removeAttribute("hidden");
    foundCount.textContent = String(foundList.children.length);
  }

  async function judge(path, body) {
    await startViewing();
    let result;
    try {
      result = await post(path, ticket ? { ...body, viewing: ticket } : body);
    } catch {
      say(navigator.onLine === false ? TEXT.offline : TEXT.failed);
      return;
    }
    const { status: code, data } = result;
    if (code !== 200) {
      say(data.message || TEXT.failed);
      return;
    }
    if (data.preview) {
      say(TEXT.preview(data.found));
    } else if (data.found && data.already) {
      say(TEXT.already(data.clue.title));
    } else if (data.found) {
      addFound(data.clue);
      say(TEXT.found(data.clue.title, data.clue.points));
      panel.dispatchEvent(new CustomEvent("clue-found", { detail: data.clue, bubbles: true }));
    } else {
      say(TEXT.missed);
    }
  }

  // ---- Investigation mode: clicks on the picture are claims ----
  function setMode(on) {
    modeButton.setAttribute("aria-pressed", on ? "true" : "false");
    layer.hidden = !on;
    root.classList.toggle("is-investigating", on);
    say(on ? TEXT.modeOn : TEXT.modeOff);
  }
  modeButton.addEventListener("click", () => setMode(layer.hidden));
  layer.addEventListener("click", (event) => {
    const point = pointInPicture(video, event.clientX, event.clientY);
    if (!point) {
      say(TEXT.outside);
      return;
    }
    judge("clue-claims", { t: video.currentTime, ...point });
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !layer.hidden) setMode(false);
  });

  // ---- Examine the scene: the regions of the paused frame, as buttons ----
  examineButton.addEventListener("click", async () => {
    video.pause();
    const t = video.currentTime;
    let regions = [];
    try {
      const response = await fetch(`/api/v1/episodes/${episode}/scene?t=${t.toFixed(3)}`, {
        credentials: "same-origin",
      });
      regions = response.ok ? await response.json() : [];
    } catch {
      say(TEXT.offline);
      return;
    }
    regionsTitle.textContent = TEXT.regions(clock(t));
    regionsList.replaceChildren(
      ...regions.map((region) => {
        const button = Object.assign(document.createElement("button"), {
          type: "button",
          className: "button-secondary",
          textContent: region.label,
        });
        button.addEventListener("click", () => judge("scene-claims", { t, region: region.region }));
        const item = document.createElement("li");
        item.append(button);
        return item;
      }),
    );
    regionsBox.hidden = false;
    regionsTitle.focus();
  });
}
