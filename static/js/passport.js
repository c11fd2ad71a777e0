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
  const show = (m) => (m < 1000 ? `${Math.max(1, Math.round(m))} m` : `${(m / 1000).toFixed(1).replace(".", fr ? "," : ".")} km`);

  function update() {
    if (!fix) return;
    const { latitude, longitude, accuracy } = fix.coords;
    for (const place of places) {
      const item = document.querySelector(`[data-place="${place.id}"]`);
      const out = item?.querySelector("[data-distance]");
      if (!out) continue;
      const d = metres(latitude, longitude, place.lat, place.lon);
      const allowed = place.radius_m + Math.min(accuracy, 100);
      const inRange = place.polygon ? d <= 1500 : d <= allowed;
      out.textContent = inRange
        ? fr ? `Vous êtes sur place (à ${show(d)}).` : `You are there (${show(d)} away).`
        : fr ? `À ${show(d)}.` : `${show(d)} away.`;
      item.querySelector("[data-stamp]").hidden = !inRange && !place.polygon;
      item.classList.toggle("is-in-range", inRange);
    }
    status.textContent = accuracy > 250
      ? fr ? `Position imprécise (± ${Math.round(accuracy)} m) : patientez, sortez à découvert, ou utilisez le code.` : `Imprecise position (± ${Math.round(accuracy)} m): wait, step outside, or use the code.`
      : fr ? `Position trouvée (± ${Math.round(accuracy)} m).` : `Position found (± ${Math.round(accuracy)} m).`;
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
      out.textContent = body.remembrance
        ? fr ? "Passage noté." : "Visit noted."
        : fr ? "Tamponné ! Bravo." : "Stamped! Well done.";
      button.remove();
      item.querySelector(".code-form")?.remove();
    } else {
      out.textContent = body.message;
    }
  });
}
