// Tips board: "near me" on the search form, "use my position" on the new tip form. Both ask
// the browser for the position only when the visitor presses the button (their consent).
const fr = document.documentElement.lang !== "en";
const t = (french, english) => (fr ? french : english);

function locate(status, done) {
  status.textContent = t("Recherche de votre position…", "Finding your position…");
  navigator.geolocation.getCurrentPosition(
    (position) => done(position.coords),
    (error) => {
      status.textContent = error.code === 1
        ? t("Position refusée : tapez une commune à la place.", "Position denied: type a town instead.")
        : t("Position introuvable pour l'instant : tapez une commune.", "No position yet: type a town.");
    },
    { enableHighAccuracy: false, maximumAge: 60000, timeout: 20000 },
  );
}

const nearMe = document.querySelector("[data-near-me]");
if (nearMe && "geolocation" in navigator) {
  nearMe.hidden = false;
  const form = nearMe.closest("form");
  const status = form.querySelector("[data-near-status]");
  nearMe.addEventListener("click", () => {
    locate(status, (coords) => {
      form.querySelector("[data-near]").value = `${coords.latitude.toFixed(5)},${coords.longitude.toFixed(5)}`;
      form.querySelector("#ou").value = "";
      status.textContent = t("Position trouvée : recherche autour de vous.", "Position found: searching around you.");
      form.submit();
    });
  });
}

const usePosition = document.querySelector("[data-use-position]");
if (usePosition && "geolocation" in navigator) {
  usePosition.hidden = false;
  const form = usePosition.closest("form");
  const status = form.querySelector("[data-position-status]");
  usePosition.addEventListener("click", () => {
    locate(status, (coords) => {
      form.querySelector("[data-lat]").value = coords.latitude.toFixed(6);
      form.querySelector("[data-lon]").value = coords.longitude.toFixed(6);
      form.dispatchEvent(new CustomEvent("tip:position")); // the map's pin follows (tip-place.js)
      status.textContent = t(
        `Position retenue (± ${Math.round(coords.accuracy)} m).`,
        `Position kept (± ${Math.round(coords.accuracy)} m).`,
      );
    });
  });
}

const summary = document.querySelector("[data-error-summary]");
if (summary) summary.focus();
