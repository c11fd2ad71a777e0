// A poll page: live bars over Socket.IO, votes over the socket when it is up (the plain form
// otherwise), and the winning ending played at close. The page works without this script.
import { io } from "/static/vendor/socket.io.esm.min.js";

const section = document.querySelector("[data-poll]");
if (section) {
  const pollId = Number(section.dataset.poll);
  const fr = document.documentElement.lang !== "en";
  const announce = section.querySelector("[data-announce]");
  const stateText = section.querySelector("[data-state-text]");
  const form = section.querySelector("[data-vote-form]");
  let lastSpoken = 0;
  let closedShown = section.dataset.state === "closed";

  const say = (text, force) => {
    // Polite, and not more than every 10 s: screen readers must not chatter during a storm.
    const t = Date.now();
    if (!force && t - lastSpoken < 10000) return;
    lastSpoken = t;
    announce.textContent = text;
  };
  const votes = (n) => (fr ? `${n} voix` : `${n} ${n === 1 ? "vote" : "votes"}`);
  const totalText = (n) => (fr ? `${n} vote${n > 1 ? "s" : ""}` : `${n} vote${n === 1 ? "" : "s"}`);
  const el = (tag, text, attrs = {}) => Object.assign(document.createElement(tag), { textContent: text }, attrs);

  function render(counts, total) {
    const bars = section.querySelector("[data-bars]");
    if (!bars || counts === undefined || total === null) return;
    for (const li of bars.querySelectorAll("[data-option]")) {
      const n = counts[li.dataset.option] ?? 0;
      const pct = total ? Math.round((100 * n) / total) : 0;
      li.querySelector("[data-fill]").value = pct;
      li.querySelector("[data-figure]").textContent = `${pct} % (${votes(n)})`;
    }
    const totalEl = section.querySelector("[data-total]");
    if (totalEl) totalEl.textContent = `${totalText(total)} ${fr ? "au total" : "in total"}`;
    const lead = [...bars.querySelectorAll("[data-option]")].sort(
      (a, b) => (counts[b.dataset.option] ?? 0) - (counts[a.dataset.option] ?? 0),
    )[0];
    if (lead && total) {
      const label = lead.querySelector(".poll-bar-label").firstChild.textContent.trim();
      say(fr ? `${totalText(total)}. En tête : ${label}.` : `${totalText(total)}. Leading: ${label}.`);
    }
  }

  async function showClosed() {
    if (closedShown) return;
    closedShown = true;
    section.dataset.state = "closed";
    if (form) form.remove();
    section.querySelector("[data-login-prompt]")?.remove();
    stateText.textContent = fr ? "Vote clos." : "Voting is closed.";
    const response = await fetch(section.dataset.api, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const poll = await response.json();
    if (poll.counts) render(poll.counts, poll.total);
    const winner = poll.options.find((o) => o.id === poll.winner);
    if (!winner) return say(fr ? "Le vote est clos." : "Voting is closed.", true);
    const bar = section.querySelector(`[data-option="${winner.id}"]`);
    if (bar && !bar.classList.contains("is-winner")) {
      // Not by colour alone: the label says it too (as the server-rendered page does).
      bar.classList.add("is-winner");
      bar.querySelector(".poll-bar-label").append(" ", el("strong", fr ? "— gagnant" : "— winner"));
    }
    // No data-audit: the results are never published, nor is the register that totals them.
    if (section.dataset.audit && !section.querySelector("[data-audit-link]")) {
      const audit = document.createElement("p");
      audit.dataset.auditLink = "";
      audit.append(
        el("a", fr ? "Registre public du vote et vérification de votre reçu" : "Public voting register and receipt check", {
          href: section.dataset.audit,
        }),
      );
      section.append(audit);
    }
    const extras = poll.options.filter((o) => o.id !== winner.id && o.ending_url);
    const extrasSlot = section.querySelector("[data-extras-slot]");
    if (extras.length && extrasSlot && !extrasSlot.querySelector("ul")) {
      const list = el("ul", "", { className: "poll-extras" });
      for (const o of extras) {
        const item = document.createElement("li");
        item.append(el("a", o.label, { href: o.ending_url }));
        list.append(item);
      }
      extrasSlot.replaceChildren(el("h2", fr ? "Les autres fins (bonus)" : "The other endings (extras)"), list);
    }
    say(fr ? `Vote clos. Choix retenu : ${winner.label}.` : `Voting closed. Chosen: ${winner.label}.`, true);
    if (!winner.ending_url || section.querySelector("[data-ending]")) return;
    const slot = section.querySelector("[data-ending-slot]");
    const title = Object.assign(document.createElement("h2"), {
      textContent: fr ? "La fin choisie par le public" : "The ending chosen by the audience",
    });
    const video = Object.assign(document.createElement("video"), { controls: true, src: winner.ending_url });
    video.className = "poll-ending";
    video.dataset.ending = "";
    video.playsInline = true;
    slot.replaceChildren(title, video);
    try {
      await video.play();
    } catch {
      // Browsers refuse sound without a gesture: play muted, the controls bring it back.
      video.muted = true;
      video.play().catch(() => {});
    }
  }

  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => socket.emit("join", { poll: pollId }));
  socket.on("tally", (data) => {
    if (data.poll !== pollId) return;
    if (!data.hidden) render(data.counts, data.total);
    if (data.state === "closed") showClosed();
  });

  if (form) {
    form.addEventListener("submit", (event) => {
      if (!socket.connected) return; // the plain form post does the same
      const choice = form.querySelector("input[name=option]:checked");
      if (!choice) return;
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const key = form.querySelector("input[name=key]").value;
      socket.timeout(10000).emit("vote", { poll: pollId, option: Number(choice.value), key }, (err, ack) => {
        if (err) return form.submit(); // no answer: the form (same key) cannot count twice
        button.disabled = false;
        const box = document.createElement("div");
        box.className = ack.status < 300 ? "poll-receipt" : "error-summary";
        box.setAttribute("role", ack.status < 300 ? "status" : "alert");
        if (ack.status < 300) {
          const label = choice.closest("label").querySelector(".poll-choice-label").textContent;
          const receipt = el("p", fr
            ? "Votre reçu (gardez-le pour vérifier, après la clôture, que votre vote est compté) : "
            : "Your receipt (keep it to check, after closing, that your vote is counted): ");
          const code = el("code", ack.receipt, { className: "token" });
          code.dataset.receipt = "";
          receipt.append(code);
          box.append(el("p", fr ? `Vote enregistré : ${label}. Merci !` : `Vote recorded: ${label}. Thank you!`), receipt);
          // The focused button goes with the form: the focus moves to the receipt that replaces
          // it, so a keyboard is not sent back to the top of the page.
          box.tabIndex = -1;
          form.replaceWith(box);
          box.focus();
        } else {
          box.append(Object.assign(document.createElement("p"), { textContent: ack.message }));
          form.prepend(box);
        }
      });
    });
  }

  const closes = Date.parse(section.dataset.closes);
  if (!closedShown && closes) {
    // In case the final tally is missed (a dropped connection at the wrong moment).
    const wait = closes - Date.now() + 1500;
    if (wait < 2 ** 31 - 1) setTimeout(showClosed, Math.max(wait, 0));
  }
  if (section.dataset.state === "closed") closedShown = true;
}
