// The instructor's class page: the join code (big, copy, rotate), the help queue, the roster (online, return
// link, remove), the rooms (pair everyone, pair by picking, demo rooms; rename, mode, follow-me, members,
// archive). Every change is a request; what the page shows comes back on the class channel (so two instructors' pages agree).

import { ApiError, api, post } from "../api";
import { $, clear, h } from "../dom";
import { ClassChannel, Event, leaveClass, Person, RoomState, Snapshot } from "../channel";
import { returnLinkButton } from "../identity";
import { staffNav } from "../classnav";
import { nav, setTitle } from "../shell";
import { HandQueue } from "./hands";

type Member = { user_id: string; display_name: string; role: string };

function say(status: HTMLElement, text: string, tone: "ok" | "err" = "ok"): void {
  status.textContent = text;
  status.dataset.tone = tone;
}

async function act(status: HTMLElement, work: () => Promise<unknown>, done: string): Promise<boolean> {
  try {
    await work();
    say(status, done);
    return true;
  } catch (e) {
    say(status, e instanceof ApiError || e instanceof Error ? e.message : String(e), "err");
    return false;
  }
}

/** A button that asks to be pressed twice for something that cannot be undone from this page. */
function confirmButton(label: string, really: string, action: () => Promise<unknown>, attrs: Record<string, unknown> = {}): HTMLButtonElement {
  let armed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const button = h("button", { type: "button", ...attrs, onclick: async () => {
    if (!armed) {
      armed = true;
      button.textContent = really;
      button.classList.add("danger");
      timer = setTimeout(() => { armed = false; button.textContent = label; button.classList.remove("danger"); }, 5000);
      return;
    }
    clearTimeout(timer);
    button.disabled = true;
    await action();
    button.disabled = false;
    armed = false;
    button.textContent = label;
    button.classList.remove("danger");
  } }, label);
  return button;
}

export function manageClass(classId: string): void {
  let snap: Snapshot | null = null;
  const rooms = new Map<string, RoomState>();
  let roster: Member[] = [];
  let online = new Set<string>();
  let follow: string | null = null;
  const nameOf = (id: string) => roster.find((m) => m.user_id === id)?.display_name ?? "someone";
  const roomName = (id: string | null) => (id && rooms.get(id)?.name) || "their room";
  const queue = new HandQueue(classId, nameOf, roomName, () => paintRoster());

  const status = h("p", { class: "status-line", role: "status", "aria-live": "polite", id: "manage-status" });
  const title = h("h1", {}, "…");
  const code = h("strong", { class: "code-big", id: "join-code" }, "");
  const rosterBody = h("tbody", {});
  const roomsBody = h("tbody", {});
  const lessonSelect = () => h("select", { class: "lesson-select", "aria-label": "Lesson" },
    h("option", { value: "" }, "No lesson"),
    (snap?.lessons ?? []).map((l) => h("option", { value: `${l.course}/${l.slug}` }, l.title)));
  const pairLesson = h("span", {});
  const pickList = h("div", { class: "pick", id: "pick-students", role: "group", "aria-label": "Students to pair" });
  const pickLesson = h("span", {});
  const demoLesson = h("span", {});

  const students = () => roster.filter((m) => m.role === "student");
  const roomsOf = (uid: string) => [...rooms.values()].filter((r) => !r.archived && r.members[uid]);

  function paintRoster(): void {
    const list = students();
    clear(rosterBody, list.length ? list.map((m) => {
      const hand = queue.raisedBy(m.user_id);
      return h("tr", { "data-user": m.user_id },
        h("td", {}, online.has(m.user_id) ? h("span", { class: "dot", title: "online", "aria-label": "online" })
          : h("span", { class: "dot off", title: "offline", "aria-label": "offline" }), " ", m.display_name,
          hand ? h("span", { class: "badge hand-badge" }, "hand up") : null),
        h("td", {}, roomsOf(m.user_id).map((r) => h("a", { href: `/rooms/${r.id}`, class: "room-chip" }, r.name))),
        h("td", { class: "row-actions" }, returnLinkButton(classId, m.user_id, m.display_name),
          confirmButton("Remove", `Remove ${m.display_name}?`, () =>
            act(status, () => api("DELETE", `/api/classes/${classId}/students/${m.user_id}`), `${m.display_name} was removed.`),
          { "aria-label": `Remove ${m.display_name} from the class` })));
    }) : h("tr", {}, h("td", { colspan: "3", class: "muted" }, "No students yet: give them the class code.")));
    clear(pickList, list.map((m) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: m.user_id, name: "pick" }), " ", m.display_name)));
    const count = document.getElementById("student-count");
    if (count) count.textContent = `${list.length} student${list.length === 1 ? "" : "s"}, ${list.filter((m) => online.has(m.user_id)).length} online`;
  }

  function paintRooms(): void {
    const list = [...rooms.values()].filter((r) => !r.archived);
    list.sort((a, b) => a.mode.localeCompare(b.mode) || a.name.localeCompare(b.name));
    clear(roomsBody, list.map((r) => {
      const members = Object.keys(r.members).map(nameOf).join(", ");
      const rename = h("button", { type: "button", class: "link", onclick: () => {
        const input = h("input", { value: r.name, "aria-label": `New name of ${r.name}`, maxlength: "120" });
        const form = h("form", { class: "inline-form" }, input, h("button", { type: "submit" }, "Save"));
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          void act(status, () => api("PATCH", `/api/rooms/${r.id}`, { name: input.value.trim() }), "Room renamed.");
        });
        rename.replaceWith(form);
        input.focus();
      } }, "Rename");
      const actions: (HTMLElement | null)[] = [h("a", { href: `/rooms/${r.id}`, class: "button-link" }, "Open"), rename];
      if (r.mode === "pair" || r.mode === "demo") {
        const next = r.mode === "pair" ? "demo" : "pair";
        actions.push(h("button", { type: "button", "data-mode": next, onclick: () =>
          act(status, () => api("PUT", `/api/rooms/${r.id}/mode`, { mode: next }), `${r.name} is now a ${next} room.`) },
        `Make ${next}`));
      }
      if (r.mode === "demo") {
        const on = follow === r.id;
        actions.push(h("button", { type: "button", class: on ? "primary" : "", "aria-pressed": String(on), "data-follow": r.id,
          onclick: () => act(status, () => post(`/api/classes/${classId}/follow`, { room_id: on ? null : r.id }),
            on ? "Follow-me ended." : `Everyone follows ${r.name}.`) }, on ? "Stop follow-me" : "Follow me"));
      }
      if (r.mode === "pair") {
        actions.push(h("button", { type: "button", onclick: (ev: MouseEvent) => {
          const picks = students().map((m) => h("label", { class: "check" },
            h("input", { type: "checkbox", value: m.user_id, checked: Boolean(r.members[m.user_id]) }), " ", m.display_name));
          const form = h("form", { class: "members-form" }, h("div", { class: "pick" }, picks),
            h("button", { type: "submit", class: "primary" }, "Save members"));
          form.addEventListener("submit", (e) => {
            e.preventDefault();
            const chosen = picks.map((p) => p.querySelector("input") as HTMLInputElement).filter((i) => i.checked).map((i) => i.value);
            void act(status, () => api("PUT", `/api/rooms/${r.id}/members`, { members: chosen }), "Members changed.");
          });
          (ev.currentTarget as HTMLElement).replaceWith(form);
        } }, "Members"));
      }
      if (r.mode !== "personal") {
        actions.push(confirmButton("Archive", "Archive it?", () =>
          act(status, () => api("PATCH", `/api/rooms/${r.id}`, { archived: true }), `${r.name} was archived.`)));
      }
      return h("tr", { "data-room": r.id },
        h("td", {}, h("strong", {}, r.name), " ", h("span", { class: "badge" }, r.mode),
          follow === r.id ? h("span", { class: "badge live" }, "followed") : null),
        h("td", { class: "small" }, r.mode === "demo" ? "whole class (read)" : members),
        h("td", { class: "small" }, r.lesson ? (snap?.lessons.find((l) => `${l.course}/${l.slug}` === r.lesson)?.title ?? r.lesson) : "—"),
        h("td", { class: "actions" }, actions));
    }));
    nav(staffNav(classId, snap?.class.name ?? "Class", "manage",
      list.map((r) => ({ id: String(r.id), name: r.name, kind: r.mode }))));
  }

  function paintLessons(): void {
    clear(pairLesson, lessonSelect());
    clear(pickLesson, lessonSelect());
    clear(demoLesson, lessonSelect());
  }
  const chosenLesson = (slot: HTMLElement) => (slot.querySelector("select") as HTMLSelectElement | null)?.value || null;

  // --- layout -------------------------------------------------------------------------------------------
  const pairAll = h("button", { type: "button", class: "primary", id: "pair-everyone", onclick: async () => {
    pairAll.disabled = true;
    await act(status, () => post(`/api/classes/${classId}/pairs`, { lesson: chosenLesson(pairLesson) }),
      "Everyone unpaired is now in a pair room.");
    pairAll.disabled = false;
  } }, "Pair everyone");
  const pickName = h("input", { id: "pick-name", placeholder: "Room name (optional)", maxlength: "120" });
  const pickForm = h("form", { class: "stack-small", "aria-label": "Pair chosen students" },
    pickList, h("label", { for: "pick-name" }, "Name"), pickName, pickLesson,
    h("button", { type: "submit" }, "Create pair room"));
  pickForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = [...pickList.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
    const name = pickName.value.trim() || chosen.map(nameOf).join(" & ");
    void act(status, () => post(`/api/classes/${classId}/rooms`, { name, kind: "pair", members: chosen, lesson: chosenLesson(pickLesson) }),
      `Pair room ${name} created.`).then((ok) => { if (ok) pickName.value = ""; });
  });
  const demoName = h("input", { id: "demo-name", placeholder: "Demo", maxlength: "120" });
  const demoForm = h("form", { class: "stack-small", "aria-label": "New demo room" },
    h("label", { for: "demo-name" }, "Demo room name"), demoName, demoLesson, h("button", { type: "submit" }, "Create demo room"));
  demoForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = demoName.value.trim() || "Demo";
    void act(status, () => post(`/api/classes/${classId}/rooms`, { name, kind: "demo", members: [], lesson: chosenLesson(demoLesson) }),
      `Demo room ${name} created.`).then((ok) => { if (ok) demoName.value = ""; });
  });

  clear($("#main"), h("div", { class: "page manage" },
    h("header", { class: "page-head" }, title,
      h("a", { href: `/classes/${classId}/grid`, class: "button-link primary", id: "open-grid" }, "Live grid →"),
      h("a", { href: `/classes/${classId}/dashboard`, class: "button-link", id: "dashboard-link" }, "Dashboard"),
      h("a", { href: `/classes/${classId}/gradebook`, class: "button-link", id: "gradebook-link" }, "Gradebook"),
      h("button", { type: "button", class: "link", onclick: () => {
        const input = h("input", { value: snap?.class.name ?? "", "aria-label": "New class name", maxlength: "120" });
        const form = h("form", { class: "inline-form" }, input, h("button", { type: "submit" }, "Save"));
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          void act(status, () => api("PATCH", `/api/classes/${classId}`, { name: input.value.trim() }), "Class renamed.");
          form.remove();
        });
        title.after(form);
        input.focus();
      } }, "Rename"),
      confirmButton("Archive class", "Archive this class?", () =>
        act(status, () => api("PATCH", `/api/classes/${classId}`, { archived: true }), "Class archived."))),
    status,
    h("div", { class: "manage-grid" },
      h("section", { class: "card join-card", "aria-labelledby": "code-title" },
        h("h2", { id: "code-title" }, "Class code"),
        h("p", { class: "muted small" }, "Students open this site, type the code and their name."),
        code,
        h("div", { class: "row" },
          h("button", { type: "button", id: "copy-code", onclick: async () => {
            try { await navigator.clipboard.writeText(code.textContent ?? ""); say(status, "Code copied."); }
            catch { say(status, "Copying is not allowed here: select the code instead.", "err"); }
          } }, "Copy"),
          confirmButton("Rotate", "New code? The old one stops working", () =>
            act(status, () => post(`/api/classes/${classId}/join-code`), "A new class code is in use."), { id: "rotate-code" }))),
      h("section", { class: "card queue-card", "aria-labelledby": "queue-title" },
        h("h2", { id: "queue-title" }, "Raised hands"), queue.el),
      h("section", { class: "card roster-card", "aria-labelledby": "roster-title" },
        h("h2", { id: "roster-title" }, "Students ", h("span", { class: "muted small", id: "student-count" })),
        h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Rooms"), h("th", {}, h("span", { class: "sr-only" }, "Actions")))),
          rosterBody)),
      h("section", { class: "card rooms-card", "aria-labelledby": "rooms-title" },
        h("h2", { id: "rooms-title" }, "Rooms"),
        h("div", { class: "room-tools" },
          h("div", { class: "tool" }, h("h3", {}, "Pair everyone"),
            h("p", { class: "muted small" }, "Every student not in a pair yet gets a partner (an odd one out makes a group of three)."),
            pairLesson, pairAll),
          h("details", { class: "tool" }, h("summary", {}, "Pair chosen students"), pickForm),
          h("details", { class: "tool" }, h("summary", {}, "New demo room"), demoForm)),
        h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", {}, "Room"), h("th", {}, "Members"), h("th", {}, "Lesson"),
          h("th", {}, h("span", { class: "sr-only" }, "Actions")))), roomsBody)))));

  new ClassChannel(classId, {
    snapshot(s) {
      snap = s;
      setTitle(`${s.class.name} · manage`);
      title.textContent = s.class.name;
      code.textContent = s.class.join_code ?? "";
      rooms.clear();
      s.rooms.forEach((r) => rooms.set(r.id, r));
      roster = s.roster ?? [];
      online = new Set(s.online.map((p: Person) => p.id));
      follow = s.follow?.room_id ?? null;
      queue.reset(s.hands);
      paintLessons(); paintRooms(); paintRoster();
    },
    event(e: Event) {
      if (e.type === "room") { rooms.set(e.room.id, { ...rooms.get(e.room.id), ...e.room }); paintRooms(); paintRoster(); }
      else if (e.type === "roster") { roster = e.members; paintRoster(); paintRooms(); }
      else if (e.type === "presence") { online = new Set(e.online.map((p: Person) => p.id)); paintRoster(); }
      else if (e.type === "hand") queue.update(e.hand);
      else if (e.type === "follow") { follow = e.room_id; paintRooms(); }
      else if (e.type === "join_code") code.textContent = e.join_code;
      else if (e.type === "class") {
        title.textContent = e.class.name;
        if (e.class.archived) leaveClass(`${e.class.name} was archived. Bring it back from your classes.`);
      }
    },
    state(state, detail) {
      const el = document.getElementById("conn");
      if (!el) return;
      el.dataset.state = state;
      el.textContent = state === "online" ? "Live" : detail;
    },
    gone() { leaveClass("This class is not yours any more."); },
  });
}
