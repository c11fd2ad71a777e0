// "Placer sur la carte" on the new tip form: a map, loaded only when the button is pressed (the
// form stays light), where a tap or a click puts the pin that fills the hidden lat/lon fields.
// From the keyboard, the arrows move the map under a crosshair and Enter (or the button under
// the map) puts the pin at its centre; the address field and "Utiliser ma position" stay too.
import { baseMap, loadLeaflet, say } from "./map-common.js";

// Nouvelle-Aquitaine (community.services.REGION_BOX), where a tip may be placed.
const REGION = [
  [42.77, -1.8],
  [47.18, 2.62],
];
const PLACE_ZOOM = 16;

const panel = document.querySelector("[data-place-map]");
const open = document.querySelector("[data-place-map-open]");

if (panel && open) {
  const form = panel.closest("form");
  const latField = form.querySelector("[data-lat]");
  const lonField = form.querySelector("[data-lon]");
  const positionStatus = form.querySelector("[data-position-status]");
  const mapStatus = panel.querySelector("[data-map-status]");
  const canvas = panel.querySelector("[data-map]");
  let map = null;
  let pin = null;

  const chosen = () => {
    const lat = Number.parseFloat(latField.value);
    const lon = Number.parseFloat(lonField.value);
    return Number.isFinite(lat) && Number.isFinite(lon) ? [lat, lon] : null;
  };

  const announce = (text) => {
    // Emptied first, so that the same words are read again for another place.
    positionStatus.textContent = "";
    requestAnimationFrame(() => (positionStatus.textContent = text));
  };

  function showPin(L, at) {
    if (pin) {
      pin.setLatLng(at);
      return;
    }
    const icon = L.divIcon({
      className: "tm-marker tm-pin",
      html: '<span class="tm-shape" aria-hidden="true"></span>',
      iconSize: [44, 44],
      iconAnchor: [22, 42],
    });
    // Not in the Tab order: the status line says where it is; a finger or a mouse may drag it.
    pin = L.marker(at, { icon, keyboard: false, draggable: true, autoPan: true }).addTo(map);
    pin.getElement()?.setAttribute("aria-hidden", "true");
    pin.on("dragend", () => choose(pin.getLatLng()));
  }

  function choose(latlng) {
    const at = latlng.wrap();
    latField.value = at.lat.toFixed(6);
    lonField.value = at.lng.toFixed(6);
    showPin(window.L, at);
    announce(say("Position choisie sur la carte.", "Position chosen on the map."));
  }

  function buildMap(L) {
    map = baseMap(L, canvas, panel);
    const at = chosen();
    if (at) {
      map.setView(at, PLACE_ZOOM);
      showPin(L, at);
    } else {
      map.fitBounds(REGION);
    }
    map.on("click", (event) => choose(event.latlng));
    canvas.addEventListener("keydown", (event) => {
      if (event.target !== canvas || event.key !== "Enter") return;
      event.preventDefault();
      choose(map.getCenter());
    });
    panel.querySelector("[data-pin-centre]").addEventListener("click", () => choose(map.getCenter()));
  }

  async function showMap() {
    if (map) {
      map.invalidateSize();
      return;
    }
    mapStatus.textContent = say("Chargement de la carte…", "Loading the map…");
    try {
      const L = await loadLeaflet(panel);
      mapStatus.textContent = "";
      panel.classList.remove("is-failed");
      if (!map && !panel.hidden) buildMap(L);
    } catch {
      panel.classList.add("is-failed");
      mapStatus.textContent = say(
        "La carte n'a pas pu être chargée (réseau ?). Donnez une adresse ou une commune à la place.",
        "The map could not be loaded (network?). Type an address or a town instead.",
      );
    }
  }

  open.hidden = false;
  open.addEventListener("click", () => {
    const showing = open.getAttribute("aria-expanded") === "true";
    open.setAttribute("aria-expanded", String(!showing));
    panel.hidden = showing;
    if (!showing) showMap();
  });

  // "Utiliser ma position" (community.js): the pin follows, on a map already open.
  form.addEventListener("tip:position", () => {
    const at = chosen();
    if (!map || !at) return;
    showPin(window.L, at);
    map.setView(at, PLACE_ZOOM);
  });
}
