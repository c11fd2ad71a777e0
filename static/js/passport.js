// The passport page: with the visitor's consent, follow the position, tell how far each place
// is and when it is in range, and stamp with a fresh fix. The code form works without this.
const panel = document.querySelector("[data-position-panel]");
if (panel && "geolocation" in navigator) {
  panel.hidden = false;
  const fr = document.documentElement.lang !== "en";
  const places = JSON.parse(document.getElementById("passport-places").textContent);
  const status = panel.querySelector("[data-position-status]");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  let fix = null;

  const metres = (lat1, lon1, lat2, lon2) => {
    const r = (d) => (d * Math.PI) / 180;
    const a = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
  };
  // Distance to an outline: 0 inside, else to the nearest edge (locally flat, as the server).
  const toOutline = (lat, lon, ring) => {
    const k = (Math.PI / 180) * 6371008.8;
    const pts = ring.map(([a, b]) => [(b - lon) * k * Math.cos((lat * Math.PI) / 180), (a - lat) * k]);
    let inside = false;
    let best = Infinity;
    pts.forEach(([x1, y1], i) => {
      const [x2, y2] = pts[(i + 1) % pts.length];
      if (y1 > 0 !== y2 > 0 && 0 < x1 + ((0 - y1) * (x2 - x1)) / (y2 - y1)) inside = !inside;
      const dx = x2 - x1, dy = y2 - y1, l2 = dx * dx + dy * dy;
      const t = l2 ? Math.max(0, Math.min(1, (-x1 * dx - y1 * dy) / l2)) : 0;
      best = Math.min(best, Math.hypot(x1 + t * dx, y1 + t * dy));
    });
    return inside ? 0 : best;
  };
  const show = (m) => (m < 1000 ? `${Math.max(1, Math.round(m))} m` : `${(m / 1000).toFixed(1).replace(".", fr ? "," : ".")} km`);

  function update() {
    if (!fix) return;
    const { latitude, longitude, accuracy } = fix.coords;
    const near = [];
    const distances = {};
    const inRangeIds = [];
    for (const place of places) {
      const allowed = place.radius_m + Math.min(accuracy, 100);
      const d = place.polygon ? toOutline(latitude, longitude, place.polygon) : metres(latitude, longitude, place.lat, place.lon);
      const inRange = d <= allowed;
      distances[place.id] = d;
      if (inRange) inRangeIds.push(place.id);
      const item = document.querySelector(`[data-place="${place.id}"]`);
      const button = item?.querySelector("[data-stamp]");
      const out = item?.querySelector("[data-distance]");
      if (!button || !out || item.classList.contains("is-stamped")) continue;
      out.textContent = inRange
        ? fr ? `Vous êtes sur place (à ${show(d)}).` : `You are there (${show(d)} away).`
        : fr ? `À ${show(d)}.` : `${show(d)} away.`;
      button.hidden = !inRange;
      item.classList.toggle("is-in-range", inRange);
      if (inRange) near.push(item.querySelector("h3").textContent);
    }
    const found = fr ? `Position trouvée (± ${Math.round(accuracy)} m).` : `Position found (± ${Math.round(accuracy)} m).`;
    const text = accuracy > 250
      ? fr ? `Position imprécise (± ${Math.round(accuracy)} m) : patientez, sortez à découvert, ou utilisez le code.` : `Imprecise position (± ${Math.round(accuracy)} m): wait, step outside, or use the code.`
      : near.length
        ? `${found} ${fr ? "Vous êtes sur place" : "You are at"} : ${near.join(", ")}.`.replace(" :", fr ? " :" : ":")
        : found;
    // Announce changes, not every fix.
    if (status.textContent !== text) status.textContent = text;
    // The map and the nearest-first list (passport-map.js) follow the same fix.
    const detail = { latitude, longitude, accuracy, distances, inRange: inRangeIds };
    document.dispatchEvent(new CustomEvent("passport:position", { detail }));
  }

  panel.querySelector("[data-locate]").addEventListener("click", () => {
    status.textContent = fr ? "Recherche de votre position…" : "Finding your position…";
    navigator.geolocation.watchPosition(
      (position) => { fix = position; update(); },
      (error) => {
        status.textContent = error.code === 1
          ? fr ? "Position refusée : vous pouvez tamponner avec le code affiché sur place." : "Position denied: you can stamp with the code shown on site."
          : fr ? "Position introuvable pour l'instant : réessayez dehors, ou utilisez le code." : "No position yet: try outside, or use the code.";
      },
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 },
    );
  });

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-stamp]");
    if (!button || !fix) return;
    const item = button.closest("[data-place]");
    const out = item.querySelector("[data-distance]");
    button.disabled = true;
    const response = await fetch("/api/v1/passport/stamps", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, Accept: "application/json" },
      body: JSON.stringify({
        location: Number(button.dataset.stamp),
        lat: fix.coords.latitude,
        lon: fix.coords.longitude,
        accuracy: fix.coords.accuracy,
        at: new Date(fix.timestamp).toISOString(),
      }),
    });
    const body = await response.json();
    button.disabled = false;
    if (response.ok) {
      item.classList.add("is-stamped");
      item.classList.remove("is-in-range");
      out.textContent = body.remembrance
        ? fr ? "Passage noté." : "Visit noted."
        : fr ? "Tamponné ! Bravo." : "Stamped! Well done.";
      // Keep the keyboard where it was: on the result, not lost on the page.
      out.tabIndex = -1;
      out.focus();
      button.remove();
      item.querySelector(".code-form")?.remove();
      status.textContent = out.textContent;
      stamped(item.dataset.place);
    } else {
      out.textContent = body.message;
    }
  });
}

// ---- Offline: the page is kept by a service worker; a code typed without network is queued
// (with the time it was read) and sent when the network returns. ----
const QUEUE = "passport-queue";
const fr2 = document.documentElement.lang !== "en";
const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
const notice = document.querySelector("[data-offline-notice]");
const queued = () => JSON.parse(localStorage.getItem(QUEUE) || "[]");
const keep = (items) => localStorage.setItem(QUEUE, JSON.stringify(items));

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/passeport/sw.js", { scope: "/passeport" }).catch(() => {});
}

function say(text) {
  if (!notice) return;
  notice.hidden = !text;
  notice.textContent = text;
}

// The map and the nearest-first list (passport-map.js) show it too.
function stamped(location) {
  document.dispatchEvent(new CustomEvent("passport:stamped", { detail: { location: Number(location) } }));
}

function markStamped(location, text) {
  const item = document.querySelector(`[data-place="${location}"]`);
  if (!item) return;
  item.classList.add("is-stamped");
  stamped(location);
  item.querySelector("[data-stamp]")?.remove();
  item.querySelector(".code-form")?.remove();
  const out = item.querySelector("[data-distance]");
  if (out) out.textContent = text;
}

function showQueue() {
  const n = queued().length;
  say(n ? (fr2 ? `${n} tampon(s) en attente de réseau : ils seront envoyés dès son retour.` : `${n} stamp(s) waiting for the network: they will be sent when it returns.`) : "");
  for (const entry of queued()) {
    const item = document.querySelector(`[data-place="${entry.location}"]`);
    const out = item?.querySelector("[data-distance]");
    if (out) out.textContent = fr2 ? "En attente de réseau…" : "Waiting for the network…";
  }
}

async function send(entry) {
  const body = { location: entry.location, at: entry.at };
  body[/^[0-9]+$/.test(entry.code) ? "pin" : "code"] = entry.code;
  const response = await fetch("/api/v1/passport/stamps", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return { ok: response.ok, body: await response.json() };
}

async function flush() {
  if (!navigator.onLine) return showQueue();
  const left = [];
  for (const entry of queued()) {
    try {
      const { ok, body } = await send(entry);
      if (ok) {
        // A place of remembrance is noted soberly, even when the stamp was queued offline.
        const text = body.remembrance
          ? fr2 ? "Passage noté." : "Visit noted."
          : fr2 ? "Tamponné ! Bravo." : "Stamped! Well done.";
        markStamped(entry.location, text);
      }
      else {
        const out = document.querySelector(`[data-place="${entry.location}"] [data-distance]`);
        if (out) out.textContent = body.message;
      }
    } catch {
      left.push(entry); // still no network
    }
  }
  keep(left);
  showQueue();
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest(".code-form");
  if (!form || !form.querySelector("input[name=code]")) return;
  event.preventDefault();
  const entry = {
    location: Number(form.querySelector("input[name=location]").value),
    code: form.querySelector("input[name=code]").value.trim(),
    at: new Date().toISOString(),
  };
  if (!entry.code) return;
  keep([...queued().filter((e) => e.location !== entry.location), entry]);
  if (navigator.onLine) await flush();
  else showQueue();
});

window.addEventListener("online", flush);
window.addEventListener("offline", showQueue);
flush();
