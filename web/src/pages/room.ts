// "/rooms/{id}": the lesson, the shared Python editor with file tabs, Run/Stop, the console and recent runs.

import { ApiError, ClassInfo, get, post, RoomInfo, api } from "../api";
import { $, clear, h } from "../dom";
import { classNav, navRooms, staffNav } from "../classnav";
import { boot, fatal, nav, requireUser, setTitle } from "../shell";
import { ClassChannel, Event, Hand, leaveClass, RoomState } from "../channel";
import { applyFollow } from "../follow";
import { ConnState, personFor, RoomDoc } from "../room/collab";
import { Editor } from "../room/editor";
import { renderMarkdown } from "../room/markdown";
import { Runner } from "../room/runner";
import { Checker } from "../room/checker";
import { RoomFeed } from "../room/feed";
import { forkAllButton, forkButton, myCopy } from "../room/fork";
import { openRun } from "../room/runview";

const roomId = decodeURIComponent(location.pathname.split("/")[2] ?? "");
const query = new URLSearchParams(location.search);

const CONN_TEXT: Record<ConnState, string> = {
  connecting: "Connecting…",
  online: "Online",
  offline: "Offline — your edits are kept on this device and merge when you reconnect",
  denied: "Disconnected",
};

function showConnection(state: ConnState, detail: string): void {
  const el = document.getElementById("conn");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === "denied" ? `${CONN_TEXT.denied}: ${detail}`
    : state === "connecting" && detail ? detail
    : CONN_TEXT[state];
}

boot(async () => {
  const who = await requireUser();
  let room: RoomInfo;
  try {
    room = await get<RoomInfo>(`/api/rooms/${encodeURIComponent(roomId)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      fatal("This room does not exist or it belongs to a class you are not in.",
        "Ask your teacher for the right link, or pick a room from your class.");
      return;
    }
    throw e;
  }
  setTitle(room.name);
  const me = personFor(who.user.id, who.user.display_name);
  const classId = String(room.class_id);
  const mine = who.classes.find((c) => String(c.id) === classId);
  const teaches = who.user.role === "admin" || mine?.role === "instructor" || mine?.role === "admin";
  get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`)
    .then((info) => nav(teaches ? staffNav(classId, info.name, null, navRooms(info), roomId) : classNav(info, roomId)))
    .catch(() => nav(null));
  // An instructor may look in unseen (?observe=1, from the live grid): read-only and not in the people list.
  const observing = teaches && query.get("observe") === "1";
  const shared = new RoomDoc(roomId, observing ? null : me, observing ? { observe: "1" } : {});
  shared.onState(showConnection);

  // --- layout -------------------------------------------------------------------------------------------
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Files" });
  const editorBox = h("div", { class: "editor", id: "editor", role: "tabpanel" });
  const newFile = h("div", { class: "new-file" });
  const people = h("ul", { class: "people inline", "aria-label": "In this room" });
  const runButton = h("button", { type: "button", class: "primary", id: "run",
    title: room.can_write ? "Run (Ctrl+Enter)" : "You are watching: fork the demo to run it yourself" }, "▶ Run");
  const stopButton = h("button", { type: "button", id: "stop" }, "■ Stop");
  const checkButton = h("button", { type: "button", id: "check", hidden: true,
    title: "Run the lesson's hidden tests on your code" }, "✓ Check");
  const checks = h("section", { class: "checks card", id: "checks", "aria-label": "Checks", hidden: true },
    h("h2", {}, "Check"));
  const status = h("p", { class: "run-status", id: "run-status", role: "status", "aria-live": "polite" });
  const output = h("pre", { class: "console", id: "console", role: "log", "aria-live": "polite",
    "aria-label": "Program output", tabindex: "0" });
  const input = h("input", { id: "stdin", autocomplete: "off", spellcheck: "false",
    placeholder: "Type, then press Enter" });
  const inputForm = h("form", { class: "stdin", "aria-label": "Program input" },
    h("label", { for: "stdin" }, "Input"), input, h("button", { type: "submit" }, "Send"));
  const runs = h("ol", { class: "runs", id: "runs", "aria-label": "Recent runs" });
  const owner = h("span", { class: "console-owner", id: "console-owner" });
  const notice = h("p", { class: "room-notice", id: "room-notice", role: "status", "aria-live": "polite" });
  const say = (text: string, tone = "info") => { notice.dataset.tone = tone; notice.textContent = text; };
  const instructor = teaches;
  // Fork the demo (issue 12): the student copies it into their room; the instructor forks it for everyone.
  const demoActions = room.kind !== "demo" || observing ? null
    : instructor ? forkAllButton(roomId, say) : forkButton(roomId, say);

  const lesson = room.lesson
    ? h("details", { class: "lesson card", open: true },
        h("summary", {}, h("span", { class: "lesson-title" }, room.lesson.title)),
        (() => {
          const body = h("article", { class: "prose" });
          const title = room.lesson.title.trim();
          // The summary already shows the title: drop a first heading that repeats it.
          const source = (room.lesson.body ?? "").replace(/^\s*#\s+(.*)\n/, (line, h1: string) =>
            h1.trim() === title ? "" : line);
          body.innerHTML = room.lesson.html ?? renderMarkdown(source);
          return body;
        })())
    : null;

  const banner = h("div", { class: "banners" });
  const readonlyNote = h("p", { class: "banner", role: "note", id: "readonly-note" });
  const followSlot = h("div", {});
  const handSlot = h("div", { class: "hand-slot" });
  banner.append(followSlot);
  const paintReadOnly = (canWrite: boolean, kind: string) => {
    if (canWrite) { readonlyNote.remove(); return; }
    readonlyNote.textContent = observing ? "You are observing: read-only, and not listed in this room."
      : kind === "demo" ? "Demo room: you are watching. Only the instructor can edit and run here; " +
        "fork it to try the code yourself."
      : "You can watch this room but not edit it.";
    banner.prepend(readonlyNote);
  };
  paintReadOnly(room.can_write && !observing, room.kind);

  clear($("#main"), h("div", { class: `room${lesson ? "" : " no-lesson"}` },
    h("header", { class: "room-head" },
      h("h1", {}, room.name, " ", h("span", { class: "badge", id: "room-kind" }, room.kind)),
      people, handSlot, demoActions, notice),
    banner,
    lesson,
    h("section", { class: "workspace", "aria-label": "Code" },
      h("div", { class: "tabbar" }, tabs, newFile),
      editorBox,
      h("p", { class: "sr-only", id: "editor-help" },
        "Python editor. Ctrl+Enter runs the program. Tab indents; press Escape then Tab to leave the editor."),
      h("div", { class: "runbar" }, runButton, stopButton, checkButton, status)),
    h("section", { class: "output", "aria-label": "Console" }, checks,
      h("div", { class: "console-head" }, h("h2", {}, "Console ", owner),
        h("span", { class: "legend" }, h("span", { class: "con-out" }, "output"), " ",
          h("span", { class: "con-err" }, "errors"), " ", h("span", { class: "con-in" }, "input"))),
      output, inputForm,
      h("h2", { class: "runs-title" }, "Recent runs"), runs)));

  // --- editor and files -------------------------------------------------------------------------------
  const runner: { current?: Runner } = {};
  const editor = new Editor({
    parent: editorBox, awareness: shared.provider.awareness, readOnly: !room.can_write || observing,
    onRun: () => void runner.current?.run(), label: `Python code of ${room.name}`,
  });
  let wanted = "main.py";

  function renderTabs(): void {
    const names = shared.fileNames();
    clear(tabs, names.map((name) => h("button", {
      type: "button", role: "tab", class: "tab", "aria-selected": String(name === editor.file), "aria-controls": "editor",
      tabindex: name === editor.file ? "0" : "-1", "data-file": name,
      onclick: () => { wanted = name; sync(); },
      onkeydown: (ev: KeyboardEvent) => {
        const i = names.indexOf(name);
        const j = ev.key === "ArrowRight" ? i + 1 : ev.key === "ArrowLeft" ? i - 1 : -2;
        if (j === -2) return;
        wanted = names[(j + names.length) % names.length];
        sync();
        (tabs.querySelector(`[data-file="${CSS.escape(wanted)}"]`) as HTMLElement | null)?.focus();
      },
    }, name)));
  }

  function sync(): void {
    const names = shared.fileNames();
    if (!names.includes(wanted)) wanted = names[0] ?? "main.py";
    const text = shared.files.get(wanted);
    if (text) editor.show(wanted, text);
    renderTabs();
  }
  // A writer can add a file (a module to import, a data file): a small inline form in the tab bar.
  function newFileButton(): void {
    if (!room.can_write) return;
    clear(newFile, h("button", { type: "button", class: "tab add", "aria-label": "New file", title: "New file",
      onclick: () => {
        const error = h("span", { class: "form-error small", role: "alert" });
        const input = h("input", { id: "new-file-name", placeholder: "name.py", maxlength: "64", spellcheck: "false",
          autocomplete: "off" });
        const form = h("form", { class: "new-file-form" },
          h("label", { for: "new-file-name", class: "sr-only" }, "New file name"), input, error);
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          const name = input.value.trim();
          if (!/^[A-Za-z_][\w-]*\.(py|txt|csv|json|md)$/.test(name)) {
            error.textContent = "Use a name like helpers.py (letters, digits, _ or -; .py, .txt, .csv, .json or .md).";
            return;
          }
          if (!shared.files.has(name)) shared.ensureFile(name);
          wanted = name;
          newFileButton();
          sync();
          editor.view.focus();
        });
        input.addEventListener("keydown", (ev) => { if (ev.key === "Escape") newFileButton(); });
        clear(newFile, form);
        input.focus();
      } }, "+"));
  }
  newFileButton();
  shared.files.observe(sync);
  shared.local.on("synced", sync);
  shared.whenSynced(() => {
    // The server seeds main.py; create it only if an empty room reached us and we may write.
    if (shared.files.size === 0 && room.can_write) shared.ensureFile("main.py");
    sync();
  });
  sync();

  // --- people in the room -----------------------------------------------------------------------------
  const awareness = shared.provider.awareness;
  const renderPeople = () => {
    // One entry per person, however many devices or tabs they have open here.
    const seen = new Map<string, { name: string; color: string }>();
    awareness.getStates().forEach((st: any) => {
      const key = st?.user?.id ?? (st?.user?.name ?? "") + st?.user?.color;
      if (st?.user?.name && !seen.has(key)) seen.set(key, st.user);
    });
    clear(people, [...seen.values()].map((u) =>
      h("li", {}, h("span", { class: "dot", style: `background:${u.color}`, "aria-hidden": "true" }), u.name)));
  };
  awareness.on("change", renderPeople);
  renderPeople();

  // --- runs ---------------------------------------------------------------------------------------------
  // The shared console and the recent runs, pushed by the room feed (issue 12).
  // The room's socket: the recent runs pushed (issue 12), and the Run button's runs started and streamed on it
  // (issue 15: one frame, no new handshake).
  let feedRunner: Runner | null = null;
  let checkFinished: (() => void) | null = null; // a check of this room ended (anyone's): its standing changed
  const feed = new RoomFeed(roomId, {
    snapshot: (list) => feedRunner?.setRuns(list),
    run: (run) => {
      feedRunner?.upsert(run);
      if (run.kind === "grade" && run.status === "finished") checkFinished?.();
    },
    stream: (msg) => feedRunner?.roomFrame(msg),
    reconnected: () => feedRunner?.resync(),
    forked: (by) => {
      if (instructor) return;
      void myCopy(roomId).then((target) => {
        if (!target) return;
        notice.dataset.tone = "ok";
        notice.replaceChildren(`${by || "Your teacher"} copied this demo into your room. `,
          h("a", { href: `/rooms/${encodeURIComponent(target)}`, id: "open-copy" }, "Open my copy"));
      }).catch(() => undefined);
    },
  });
  runner.current = feedRunner = new Runner(roomId, {
    runButton, stopButton, status, owner, console: output, inputForm, input, runs,
  }, (exit) => {
    const line = exit.verdict === "runtime_error" ? exit.error?.line ?? null : null;
    if (line && editor.file !== "main.py" && shared.files.has("main.py")) { wanted = "main.py"; sync(); }
    editor.markError(line);
  }, 10, { id: String(who.user.id), name: who.user.display_name, instructor, canRun: room.can_write && !observing },
  (run) => openRun(run, String(who.user.id)), feed);

  // --- jump to a line (a raised hand's cursor, a grid tile) ----------------------------------------------------
  const wantLine = Number(query.get("line") ?? "0");
  if (wantLine > 0) {
    shared.whenSynced(() => {
      const file = query.get("file");
      if (file && shared.files.has(file)) { wanted = file; sync(); }
      editor.gotoLine(wantLine);
    });
  }

  // --- raise hand (students) ----------------------------------------------------------------------------------
  let myHand: Hand | null = null;
  function paintHand(): void {
    if (teaches) return;
    if (myHand && !myHand.resolved_at) {
      clear(handSlot, h("span", { class: "badge hand-badge", id: "hand-up", role: "status" }, "Hand up: your teacher is coming"),
        h("button", { type: "button", class: "link", id: "lower-hand", onclick: async () => {
          try { myHand = await api<Hand>("DELETE", `/api/classes/${classId}/hand`); } catch { /* already down */ }
          paintHand();
        } }, "Lower hand"));
      return;
    }
    const resolvedNote = myHand?.resolved_at
      ? h("span", { class: "badge ok-badge", id: "hand-resolved", role: "status" }, "✓ Your teacher answered your hand") : null;
    clear(handSlot, resolvedNote, h("button", { type: "button", id: "raise-hand", onclick: () => {
      const note = h("input", { id: "hand-note", maxlength: "500", placeholder: "What do you need? (optional)" });
      const submit = h("button", { type: "submit", class: "primary" }, "Raise hand");
      const form = h("form", { class: "hand-form", "aria-label": "Raise your hand" },
        h("label", { for: "hand-note", class: "sr-only" }, "Message for your teacher"), note, submit,
        h("button", { type: "button", onclick: () => paintHand() }, "Cancel"));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        if (submit.disabled) return;
        submit.disabled = true;  // the first hand of a class may wait for its session to start: show it is on its way
        submit.textContent = "Raising…";
        try {
          myHand = await post<Hand>(`/api/classes/${classId}/hand`, {
            room_id: roomId, note: note.value.trim(), file: editor.file ?? undefined, line: editor.cursorLine(),
          });
        } catch (e) {
          alert(e instanceof Error ? e.message : String(e));
        }
        paintHand();
      });
      note.addEventListener("keydown", (ev) => { if (ev.key === "Escape") paintHand(); });
      clear(handSlot, form);
      note.focus();
    } }, "Raise hand"));
  }
  paintHand();

  // --- follow-me: the instructor's side publishes where they look; a following student goes along -----------
  const following = !teaches && query.get("follow") === "1";
  if (teaches && !observing) {
    let last = "";
    const publishView = () => {
      const view = `${editor.file}:${editor.topLine()}`;
      if (view === last) return;
      last = view;
      shared.provider.awareness.setLocalStateField("view", { file: editor.file, top: editor.topLine() });
    };
    editor.view.scrollDOM.addEventListener("scroll", () => requestAnimationFrame(publishView), { passive: true });
    shared.files.observe(() => requestAnimationFrame(publishView));
    tabs.addEventListener("click", () => requestAnimationFrame(publishView));
  }
  if (following) {
    // Only instructors publish a "view" in their awareness state: the follower scrolls (and switches file) with it.
    shared.provider.awareness.on("change", () => {
      shared.provider.awareness.getStates().forEach((state: any, client: number) => {
        if (client === shared.doc.clientID || !state?.view) return;
        if (state.view.file && state.view.file !== editor.file && shared.files.has(state.view.file)) { wanted = state.view.file; sync(); }
        if (state.view.top) editor.scrollToTop(state.view.top);
      });
    });
  }
  const followButton = h("button", { type: "button", id: "follow-me", "aria-pressed": "false", hidden: true });
  if (teaches) handSlot.append(followButton);
  let followed: string | null = null;
  function paintFollowButton(kind: string): void {
    followButton.hidden = kind !== "demo" || observing;
    const on = followed === roomId;
    followButton.setAttribute("aria-pressed", String(on));
    followButton.className = on ? "primary" : "";
    followButton.textContent = on ? "Stop follow-me" : "Follow me";
  }
  followButton.addEventListener("click", async () => {
    try {
      await post(`/api/classes/${classId}/follow`, { room_id: followed === roomId ? null : roomId });
    } catch (e) {
      alert(e instanceof Error ? e.message : String(e));
    }
  });
  paintFollowButton(room.kind);

  // --- the class channel: rights, runs, hands and follow-me pushed live ---------------------------------------
  function applyRoom(state: RoomState): void {
    if (state.visible === false || state.archived) {
      if (!teaches) leaveClass(`${room.name} is no longer open to you.`);
      return;
    }
    const canWrite = teaches ? !observing : state.mode !== "demo" && state.members[String(who.user.id)] === "writer";
    if (canWrite === editor.readOnly) editor.setReadOnly(!canWrite);
    paintReadOnly(canWrite, state.mode);
    const badge = document.getElementById("room-kind");
    if (badge) badge.textContent = state.mode;
    paintFollowButton(state.mode);
  }
  new ClassChannel(classId, {
    snapshot(s) {
      const state = s.rooms.find((r) => r.id === roomId);
      if (state) applyRoom(state);
      myHand = s.hands.find((x) => x.user_id === String(who.user.id)) ?? null;
      paintHand();
      followed = s.follow?.room_id ?? null;
      paintFollowButton(state?.mode ?? room.kind);
      if (!teaches) applyFollow(s.follow, (el) => clear(followSlot, el), `/classes/${classId}`);
    },
    event(e: Event) {
      if (e.type === "room" && e.room.id === roomId) applyRoom(e.room);
      else if (e.type === "hand" && e.hand.user_id === String(who.user.id)) { myHand = e.hand; paintHand(); }
      else if (e.type === "follow") {
        followed = e.room_id;
        paintFollowButton(document.getElementById("room-kind")?.textContent ?? room.kind);
        if (!teaches) applyFollow(e.room_id ? { room_id: e.room_id, by: e.by } : null, (el) => clear(followSlot, el), `/classes/${classId}`);
      }
    },
    gone() { leaveClass("You are no longer a member of this class."); },
  });

  if (room.lesson && room.can_write) {
    const checker = new Checker(roomId, shared.doc, { button: checkButton, panel: checks },
      () => undefined, // the room feed lists the check's run when it finishes
      (kind, text, fresh) => runner.current?.showCheckOutput(kind, text, fresh));
    checker.load().then((state) => {
      checkButton.hidden = checks.hidden = state === null;
      // A partner's check moves the best score and may reveal a hint: pushed by the room feed, read again here.
      if (state !== null) checkFinished = () => void checker.load().catch(() => undefined);
    }).catch(() => undefined);
  }
});
