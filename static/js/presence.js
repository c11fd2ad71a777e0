// "N people watching now" on an episode page, live over Socket.IO (the page works without it).
import { io } from "/static/vendor/socket.io.esm.min.js";

const node = document.querySelector("[data-presence]");
if (node) {
  const episode = Number(node.dataset.episode);
  const fr = document.documentElement.lang !== "en";
  const label = (n) =>
    fr
      ? `${n} personne${n > 1 ? "s" : ""} regarde${n > 1 ? "nt" : ""} cet épisode en ce moment`
      : `${n} ${n > 1 ? "people are" : "person is"} watching this episode now`;
  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => socket.emit("join", { episode }));
  socket.on("presence", (data) => {
    if (data.episode === episode) {
      node.textContent = label(data.watching);
      node.hidden = false;
    }
  });
}
