// "/rooms/{id}": the lesson, the shared Python editor with file tabs, Run/Stop, the console and recent runs.

import { ApiError, ClassInfo, get, RoomInfo } from "../api";
import { $, clear, h } from "../dom";
import { classNav } from "../classnav";
import { boot, fatal, nav, requireUser, setTitle } from "../shell";
import { ConnState, personFor, RoomDoc } from "../room/collab";
import { Editor } from "../room/editor";
import { renderMarkdown } from "../room/markdown";
import { Runner } from "../room/runner";

const roomId = decodeURIComponent(location.pathname.split("/")[2] ?? "");

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
  get<ClassInfo>(`/api/classes/${encodeURIComponent(String(room.class_id))}`)
    .then((info) => nav(classNav(info, roomId)))
    .catch(() => nav(null));

  const me = personFor(who.user.id, who.user.display_name);
  const shared = new RoomDoc(roomId, me);
  shared.onState(showConnection);

  // --- layout -------------------------------------------------------------------------------------------
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Files" });
  const editorBox = h("div", { class: "editor", id: "editor", role: "tabpanel" });
  const newFile = h("div", { class: "new-file" });
  const people = h("ul", { class: "people inline", "aria-label": "In this room" });
  const runButton = h("button", { type: "button", class: "primary", id: "run", title: "Run (Ctrl+Enter)" }, "▶ Run");
  const stopButton = h("button", { type: "button", id: "stop" }, "■ Stop");
  const status = h("p", { class: "run-status", id: "run-status", role: "status", "aria-live": "polite" });
  const output = h("pre", { class: "console", id: "console", role: "log", "aria-live": "polite",
    "aria-label": "Program output", tabindex: "0" });
  const input = h("input", { id: "stdin", autocomplete: "off", spellcheck: "false",
    placeholder: "Type, then press Enter" });
  const inputForm = h("form", { class: "stdin", "aria-label": "Program input" },
    h("label", { for: "stdin" }, "Input"), input, h("button", { type: "submit" }, "Send"));
  const runs = h("ol", { class: "runs", id: "runs", "aria-label": "Recent runs" });

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

  clear($("#main"), h("div", { class: `room${lesson ? "" : " no-lesson"}` },
    h("header", { class: "room-head" },
      h("h1", {}, room.name, " ", h("span", { class: "badge" }, room.kind)),
      people),
    room.can_write ? null : h("p", { class: "banner", role: "note", id: "readonly-note" },
      room.kind === "demo" ? "Demo room: you are watching. Only the instructor can edit here."
        : "You can watch this room but not edit it."),
    lesson,
    h("section", { class: "workspace", "aria-label": "Code" },
      h("div", { class: "tabbar" }, tabs, newFile),
      editorBox,
      h("p", { class: "sr-only", id: "editor-help" },
        "Python editor. Ctrl+Enter runs the program. Tab indents; press Escape then Tab to leave the editor."),
      h("div", { class: "runbar" }, runButton, stopButton, status)),
    h("section", { class: "output", "aria-label": "Console" },
      h("div", { class: "console-head" }, h("h2", {}, "Console"),
        h("span", { class: "legend" }, h("span", { class: "con-out" }, "output"), " ",
          h("span", { class: "con-err" }, "errors"), " ", h("span", { class: "con-in" }, "your input"))),
      output, inputForm,
      h("h2", { class: "runs-title" }, "Recent runs"), runs)));

  // --- editor and files -------------------------------------------------------------------------------
  const runner: { current?: Runner } = {};
  const editor = new Editor({
    parent: editorBox, awareness: shared.provider.awareness, readOnly: !room.can_write,
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
    const seen = new Map<string, { name: string; color: string }>();
    awareness.getStates().forEach((st: any) => {
      if (st?.user?.name) seen.set(st.user.name + st.user.color, st.user);
    });
    clear(people, [...seen.values()].map((u) =>
      h("li", {}, h("span", { class: "dot", style: `background:${u.color}`, "aria-hidden": "true" }), u.name)));
  };
  awareness.on("change", renderPeople);
  renderPeople();

  // --- runs ---------------------------------------------------------------------------------------------
  runner.current = new Runner(roomId, {
    runButton, stopButton, status, console: output, inputForm, input, runs,
  }, (exit) => {
    const line = exit.verdict === "runtime_error" ? exit.error?.line ?? null : null;
    if (line && editor.file !== "main.py" && shared.files.has("main.py")) { wanted = "main.py"; sync(); }
    editor.markError(line);
  }, 10, new Map([
    ...(room.members ?? []).map((m): [string, string] => [String(m.id), m.display_name]),
    [String(who.user.id), who.user.display_name],
  ]));
  void runner.current.loadRecent();
  // Partners' runs show up too: refresh the list while the page is visible and no run of ours is streaming.
  setInterval(() => {
    if (!document.hidden && !runner.current?.busy) void runner.current?.loadRecent();
  }, 15000);
});
