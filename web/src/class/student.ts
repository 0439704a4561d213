// A student's class home, kept live by the class channel: their rooms (a new pair room appears at once), the
// lessons, who is online, their raised hand, follow-me. Removed from the class: the page leaves it.

import { get, Lesson } from "../api";
import { $, clear, h } from "../dom";
import { applyFollow } from "../follow";
import { ClassChannel, Event, Hand, leaveClass, Person, RoomState, Snapshot } from "../channel";
import { renderMarkdown } from "../room/markdown";
import { myScores } from "./scores";
import { nav, setTitle } from "../shell";

const KIND: Record<string, string> = { personal: "your room", pair: "pair", demo: "demo" };

export function studentClass(classId: string): void {
  const rooms = new Map<string, RoomState>();
  let snap: Snapshot | null = null;
  let online: Person[] = [];
  let hand: Hand | null = null;
  const roomList = h("ul", { class: "list", id: "my-rooms" });
  const lessonList = h("ul", { class: "lesson-list" });
  const people = h("ul", { class: "people", id: "online" });
  const handNote = h("p", { class: "muted", id: "hand-status", role: "status", "aria-live": "polite" });
  const banner = h("div", { id: "follow-banner" });
  const title = h("h1", {}, "…");

  function paintRooms(): void {
    const mine = [...rooms.values()].filter((r) => r.visible !== false && !r.archived);
    mine.sort((a, b) => (a.mode === "personal" ? -1 : 0) - (b.mode === "personal" ? -1 : 0) || a.name.localeCompare(b.name));
    clear(roomList, mine.length ? mine.map((r) => h("li", { "data-room": r.id },
      h("a", { href: `/rooms/${r.id}` }, r.name), " ", h("span", { class: "badge" }, KIND[r.mode] ?? r.mode),
      r.lesson ? h("span", { class: "muted small" }, " · ", lessonTitle(r.lesson)) : null))
      : h("li", { class: "muted" }, "No rooms yet."));
    nav(h("div", { class: "nav-inner" },
      h("a", { class: "nav-class", href: `/classes/${classId}` }, snap?.class.name ?? "Class"),
      h("h2", { class: "nav-title" }, "Rooms"),
      h("ul", { class: "nav-list" }, mine.map((r) => h("li", {}, h("a", { href: `/rooms/${r.id}` }, r.name))))));
  }
  function lessonTitle(slug: string): string {
    const [, s] = slug.split("/");
    return snap?.lessons.find((l) => l.slug === s)?.title ?? slug;
  }
  function paintLessons(): void {
    if (!snap) return;
    clear(lessonList, snap.lessons.length ? snap.lessons.map((lesson) => {
      const body = h("div", { class: "prose" }, h("p", { class: "muted" }, "Loading…"));
      const details = h("details", {}, h("summary", {}, lesson.title), body);
      details.addEventListener("toggle", async () => {
        if (!details.open || details.dataset.loaded) return;
        details.dataset.loaded = "1";
        try {
          const full = await get<Lesson>(`/api/lessons/${encodeURIComponent(lesson.course)}/${encodeURIComponent(lesson.slug)}`);
          body.innerHTML = full.html ?? renderMarkdown(full.body ?? "");
        } catch (e) {
          body.textContent = e instanceof Error ? e.message : String(e);
          delete details.dataset.loaded;
        }
      });
      return h("li", {}, details);
    }) : h("li", { class: "muted" }, "No lessons yet."));
  }
  function paintOnline(): void {
    clear(people, online.length ? online.map((p) => h("li", {}, h("span", { class: "dot", "aria-hidden": "true" }), p.display_name))
      : h("li", { class: "muted" }, "Nobody else is online yet."));
  }
  function paintHand(): void {
    handNote.textContent = hand && !hand.resolved_at
      ? `Your hand is up${hand.note ? `: “${hand.note}”` : ""}. Your teacher will come to you.`
      : hand?.resolved_at ? "Your teacher answered your raised hand." : "";
  }

  const scores = h("div", { id: "scores-slot" });
  async function paintScores(): Promise<void> {
    clear(scores, await myScores(classId));
  }
  clear($("#main"), h("div", { class: "page" },
    h("header", { class: "page-head" }, title),
    banner,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "rooms-title" }, h("h2", { id: "rooms-title" }, "Your rooms"),
        roomList, handNote),
      h("section", { class: "card", "aria-labelledby": "lessons-title" }, h("h2", { id: "lessons-title" }, "Lessons"),
        lessonList),
      h("section", { class: "card", "aria-labelledby": "online-title" }, h("h2", { id: "online-title" }, "Online now"),
        people),
      scores)));

  const showBanner = (el: HTMLElement | null) => clear(banner, el);
  new ClassChannel(classId, {
    snapshot(s) {
      snap = s;
      setTitle(s.class.name);
      title.textContent = s.class.name;
      rooms.clear();
      s.rooms.forEach((r) => rooms.set(r.id, r));
      online = s.online;
      hand = s.hands[0] ?? null;
      paintRooms(); paintLessons(); paintOnline(); paintHand(); void paintScores();
      applyFollow(s.follow, showBanner, `/classes/${classId}`);
    },
    event(e: Event) {
      if (e.type === "room") { rooms.set(e.room.id, { ...rooms.get(e.room.id), ...e.room }); paintRooms(); }
      else if (e.type === "presence") { online = e.online; paintOnline(); }
      else if (e.type === "hand") { hand = e.hand; paintHand(); }
      else if (e.type === "follow") applyFollow(e.room_id ? { room_id: e.room_id, by: e.by } : null, showBanner, `/classes/${classId}`);
      else if (e.type === "class" && e.class.archived) leaveClass("This class was archived by your teacher.");
      else if (e.type === "class") { title.textContent = e.class.name; setTitle(e.class.name); }
    },
    state(state, detail) {
      const el = document.getElementById("conn");
      if (!el) return;
      el.dataset.state = state;
      el.textContent = state === "online" ? "Live" : detail;
    },
    gone() { leaveClass("You are no longer a member of this class."); },
  });
}
