// The leaderboard page follows its ranking live over Socket.IO (the page works without it).
import { io } from "/static/vendor/socket.io.esm.min.js";

const table = document.querySelector("[data-leaderboard]");
if (table) {
  const room = table.dataset.room;
  const ident = Number(table.dataset.ident);
  const rows = table.querySelector("[data-rows]");
  const live = document.querySelector("[data-board-live]");
  const fr = document.documentElement.lang !== "en";
  const matches = (data) =>
    room === "leaderboard-episode"
      ? data.scope === "episode" && data.episode === ident
      : ident === 0
        ? data.scope === "overall"
        : data.scope === "season" && data.season === ident;

  const cell = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
  const empty = rows.querySelector("[data-empty]");
  function render(entries) {
    const before = new Map(
      [...rows.querySelectorAll("tr[data-player]")].map((tr) => [tr.dataset.player, tr.dataset.points]),
    );
    empty.hidden = entries.length > 0;
    rows.replaceChildren(
      empty,
      ...entries.map((e) => {
        const tr = document.createElement("tr");
        tr.dataset.player = e.player;
        tr.dataset.points = String(e.points);
        const name = cell("th", e.player);
        name.scope = "row";
        tr.append(cell("td", String(e.rank)), name, cell("td", String(e.points)), cell("td", String(e.finds)));
        if (before.get(e.player) !== String(e.points)) tr.classList.add("is-new");
        return tr;
      }),
    );
    const top = entries[0];
    if (!top) return;
    live.textContent = fr
      ? `Classement mis à jour : en tête, ${top.player} avec ${top.points} points.`
      : `Leaderboard updated: ${top.player} leads with ${top.points} points.`;
  }

  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => socket.emit("join", { [room]: ident }));
  socket.on("leaderboard", (data) => {
    if (matches(data)) render(data.entries);
  });
}
