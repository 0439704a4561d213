// "/classes/{id}/grid": the live grid. One tile per student: the code around their last edit in their pair room
// (or personal room), at most one update per tile per second, pushed by the class channel from the server's copy
// of each document; the last run's verdict and error line; time since the last edit and run; "hand up" and
// "stuck" badges. Sort "needs help first", filter by room or lesson; open a room, observe it unseen, or join it.

import { ApiError, ClassInfo, get } from "../api";
import { $, clear, h } from "../dom";
import { ago, ClassChannel, Event, leaveClass, Person, RoomState, Snapshot } from "../channel";
import { staffNav } from "../classnav";
import { boot, fatal, nav, requireUser, setTitle } from "../shell";
import { HandQueue } from "../class/hands";

const classId = decodeURIComponent(location.pathname.split("/")[2] ?? "");

interface Tile { room_id: string; file: string; line: number; start: number; lines: string[]; edited_at: string | null }
interface Run { user_id: string; room_id: string | null; verdict: string; error_type: string | null;
  error_message: string | null; error_line: number | null; finished_at: string }
type Member = { user_id: string; display_name: string; role: string };

const VERDICT: Record<string, string> = {
  ok: "ran OK", runtime_error: "error", time_limit: "too slow", memory_limit: "out of memory",
  output_limit: "too much output", cancelled: "stopped", internal_error: "server problem",
};

boot(async () => {
  await requireUser();
  try {
    await get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      fatal("This class does not exist or you are not a member of it.");
      return;
    }
    throw e;
  }
  let snap: Snapshot | null = null;
  let roster: Member[] = [];
  const rooms = new Map<string, RoomState>();
  const tiles = new Map<string, Tile>();
  const runs = new Map<string, Run>();
  let stuck = new Set<string>();
  let online = new Set<string>();
  const nameOf = (id: string) => roster.find((m) => m.user_id === id)?.display_name ?? "someone";
  const queue = new HandQueue(classId, nameOf, (id) => (id && rooms.get(id)?.name) || "their room", () => paintSoon());

  const sort = h("select", { id: "grid-sort", "aria-label": "Sort tiles" },
    h("option", { value: "help" }, "Needs help first"), h("option", { value: "name" }, "Name"),
    h("option", { value: "edit" }, "Last edit"));
  const roomFilter = h("select", { id: "grid-room", "aria-label": "Show room" });
  const lessonFilter = h("select", { id: "grid-lesson", "aria-label": "Show lesson" });
  const board = h("ul", { class: "tiles", id: "tiles", "aria-label": "Students" });
  const count = h("span", { class: "muted small", id: "grid-count" });
  [sort, roomFilter, lessonFilter].forEach((s) => s.addEventListener("change", () => paint()));

  function roomOf(uid: string): RoomState | undefined {
    const mine = [...rooms.values()].filter((r) => !r.archived && r.members[uid]);
    return mine.find((r) => r.mode === "pair") ?? mine.find((r) => r.mode === "personal");
  }
  function needScore(uid: string): number[] {
    const hand = queue.raisedBy(uid);
    const run = runs.get(uid);
    const tile = tiles.get(roomOf(uid)?.id ?? "");
    return [hand ? 0 : 1, hand ? Date.parse(hand.created_at) : 0, stuck.has(uid) ? 0 : 1,
      run && run.verdict !== "ok" ? 0 : 1, tile?.edited_at ? Date.parse(tile.edited_at) : 0];
  }
  function compare(a: Member, b: Member): number {
    if (sort.value === "name") return a.display_name.localeCompare(b.display_name);
    if (sort.value === "edit") {
      const ta = tiles.get(roomOf(a.user_id)?.id ?? "")?.edited_at ?? "";
      const tb = tiles.get(roomOf(b.user_id)?.id ?? "")?.edited_at ?? "";
      return tb.localeCompare(ta);
    }
    const x = needScore(a.user_id), y = needScore(b.user_id);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return a.display_name.localeCompare(b.display_name);
  }

  function code(tile: Tile | undefined, errorLine: number | null): HTMLElement {
    const pre = h("pre", { class: "tile-code", "aria-label": "Code around the last edit" });
    if (!tile || !tile.lines.length) { pre.append(h("span", { class: "muted" }, "(no code yet)")); return pre; }
    tile.lines.forEach((text, i) => {
      const n = tile.start + i;
      pre.append(h("span", { class: `ln${n === tile.line && tile.edited_at ? " edited" : ""}${n === errorLine ? " error" : ""}`, "data-line": String(n) },
        h("span", { class: "no", "aria-hidden": "true" }, String(n).padStart(3)), " ", text || " "), "\n");
    });
    return pre;
  }

  function tileFor(m: Member): HTMLElement {
    const room = roomOf(m.user_id);
    const tile = room ? tiles.get(room.id) : undefined;
    const run = runs.get(m.user_id);
    const hand = queue.raisedBy(m.user_id);
    const errLine = run && run.verdict !== "ok" && run.room_id === room?.id ? run.error_line : null;
    return h("li", { class: `tile${hand ? " has-hand" : ""}${stuck.has(m.user_id) ? " is-stuck" : ""}`, "data-user": m.user_id,
      "data-room": room?.id ?? "" },
      h("div", { class: "tile-head" },
        h("span", { class: online.has(m.user_id) ? "dot" : "dot off", "aria-label": online.has(m.user_id) ? "online" : "offline" }),
        h("strong", {}, m.display_name),
        room ? h("span", { class: "muted small" }, room.name) : null,
        hand ? h("span", { class: "badge hand-badge", title: hand.note || "hand raised" }, "hand up") : null,
        stuck.has(m.user_id) ? h("span", { class: "badge stuck-badge" }, "stuck") : null),
      room ? h("a", { class: "tile-open", href: `/rooms/${room.id}${tile?.line ? `?file=${encodeURIComponent(tile.file)}&line=${tile.line}` : ""}`,
        "aria-label": `Open ${m.display_name}'s code in ${room.name}` }, code(tile, errLine)) : code(undefined, null),
      h("div", { class: "tile-foot small" },
        run ? h("span", { class: `verdict v-${run.verdict}` }, VERDICT[run.verdict] ?? run.verdict,
          run.error_type ? `: ${run.error_type}${run.error_line ? ` line ${run.error_line}` : ""}` : "") : h("span", { class: "muted" }, "no run yet"),
        h("span", { class: "muted", "data-ago": "1", "data-edit": tile?.edited_at ?? "", "data-run": run?.finished_at ?? "" },
          `edit ${ago(tile?.edited_at)} · run ${ago(run?.finished_at)}`)),
      room ? h("div", { class: "tile-actions small" },
        h("a", { href: `/rooms/${room.id}?observe=1`, title: "Read-only, not listed in the room" }, "Observe"),
        h("a", { href: `/rooms/${room.id}` }, "Join to help")) : null);
  }

  function filters(): void {
    const keepRoom = roomFilter.value, keepLesson = lessonFilter.value;
    const list = [...rooms.values()].filter((r) => !r.archived && r.mode !== "demo");
    clear(roomFilter, h("option", { value: "" }, "All rooms"), list.sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => h("option", { value: r.id }, r.name)));
    const lessons = new Set(list.map((r) => r.lesson).filter(Boolean) as string[]);
    clear(lessonFilter, h("option", { value: "" }, "All lessons"), [...lessons].map((slug) =>
      h("option", { value: slug }, snap?.lessons.find((l) => `${l.course}/${l.slug}` === slug)?.title ?? slug)));
    roomFilter.value = keepRoom; lessonFilter.value = keepLesson;
  }

  function paint(): void {
    const shown = roster.filter((m) => m.role === "student").filter((m) => {
      const room = roomOf(m.user_id);
      return (!roomFilter.value || room?.id === roomFilter.value) && (!lessonFilter.value || room?.lesson === lessonFilter.value);
    }).sort(compare);
    clear(board, shown.length ? shown.map(tileFor) : h("li", { class: "muted" }, "No students to show."));
    count.textContent = `${shown.length} student${shown.length === 1 ? "" : "s"}`;
  }
  let pending = false;
  function paintSoon(): void {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  }
  /** A tile update touches only that student's code (and the ones sharing the room). */
  function paintTile(roomId: string): void {
    if (sort.value === "edit") return paintSoon();
    board.querySelectorAll<HTMLElement>(`.tile[data-room="${CSS.escape(roomId)}"]`).forEach((el) => {
      const m = roster.find((x) => x.user_id === el.dataset.user);
      if (m) el.replaceWith(tileFor(m));
    });
  }
  setInterval(() => board.querySelectorAll<HTMLElement>("[data-ago]").forEach((el) => {
    el.textContent = `edit ${ago(el.dataset.edit)} · run ${ago(el.dataset.run)}`;
  }), 5000);

  clear($("#main"), h("div", { class: "page grid-page" },
    h("header", { class: "page-head" }, h("h1", { id: "grid-title" }, "Live grid"), count,
      h("div", { class: "grid-tools" }, sort, roomFilter, lessonFilter)),
    h("div", { class: "grid-layout" },
      board,
      h("aside", { class: "card queue-card", "aria-labelledby": "queue-title" },
        h("h2", { id: "queue-title" }, "Raised hands"), queue.el))));

  new ClassChannel(classId, {
    snapshot(s) {
      snap = s;
      setTitle(`${s.class.name} · live grid`);
      $("#grid-title").textContent = `${s.class.name}: live grid`;
      roster = s.roster ?? [];
      rooms.clear(); s.rooms.forEach((r) => rooms.set(r.id, r));
      tiles.clear(); (s.tiles ?? []).forEach((t) => tiles.set(t.room_id, t as unknown as Tile));
      runs.clear(); Object.entries(s.runs ?? {}).forEach(([uid, r]) => runs.set(uid, r as unknown as Run));
      stuck = new Set((s.stuck ?? []).map((x) => String(x.user_id)));
      online = new Set(s.online.map((p: Person) => p.id));
      queue.reset(s.hands);
      nav(staffNav(classId, s.class.name, "grid", s.rooms.map((r) => ({ id: String(r.id), name: r.name, kind: r.mode }))));
      filters(); paint();
    },
    event(e: Event) {
      if (e.type === "tile") {
        const old = tiles.get(e.room_id);
        if (e.patch && old) {
          const lines = [...old.lines];
          Object.entries(e.patch as Record<string, string>).forEach(([i, text]) => { lines[Number(i)] = text; });
          tiles.set(e.room_id, { ...old, lines, line: e.line, edited_at: e.edited_at });
        } else if (!e.patch) {
          tiles.set(e.room_id, e as unknown as Tile);
        }
        paintTile(e.room_id);
      } else if (e.type === "run") {
        if (e.run.user_id) runs.set(e.run.user_id, e.run);
        paintSoon();
      } else if (e.type === "hand") queue.update(e.hand);
      else if (e.type === "stuck") { stuck = new Set(e.stuck.map((x: any) => String(x.user_id))); paintSoon(); }
      else if (e.type === "room") { rooms.set(e.room.id, { ...rooms.get(e.room.id), ...e.room }); filters(); paintSoon(); }
      else if (e.type === "roster") { roster = e.members; paintSoon(); }
      else if (e.type === "presence") { online = new Set(e.online.map((p: Person) => p.id)); paintSoon(); }
      else if (e.type === "class" && e.class.archived) leaveClass("This class was archived.");
    },
    state(state, detail) {
      const el = document.getElementById("conn");
      if (!el) return;
      el.dataset.state = state;
      el.textContent = state === "online" ? "Live" : detail;
    },
    gone() { leaveClass("This class is not yours any more."); },
  }, true);
});
