// "Fork the demo": a student copies the demo's files as they are now into their own room and lands there; when
// names are taken in their room they choose between a new file set and new files. The instructor's version
// copies the demo into every student's room at once.

import { ApiError, ForkDone, ForkPreview, get, post } from "../api";
import { h } from "../dom";

type Mode = "add" | "replace" | "rename";

/** A modal asking how the demo's files should land when names clash; resolves with the choice (null: cancel). */
function chooseMode(preview: ForkPreview): Promise<Mode | null> {
  return new Promise((resolve) => {
    let choice: Mode | null = null;
    const pick = (mode: Mode) => () => { choice = mode; dialog.close(); };
    const names = preview.clashes.join(", ");
    const dialog = h("dialog", { class: "fork-choice card", "aria-labelledby": "fork-title" },
      h("h2", { id: "fork-title" }, "Your room already has these files"),
      h("p", {}, "The demo has ", h("strong", {}, names), ", and so does ",
        h("strong", {}, preview.target_room_name ?? "your room"), ". How should the demo's code come in?"),
      h("div", { class: "choices" },
        h("button", { type: "button", class: "primary", id: "fork-rename", onclick: pick("rename") },
          "Keep mine, add the demo's as new files"),
        h("p", { class: "muted small" }, `e.g. ${preview.clashes[0].replace(/(\.[^.]*)?$/, "_demo$1")}`),
        h("button", { type: "button", id: "fork-replace", onclick: pick("replace") },
          "Use the demo's files as my new file set"),
        h("p", { class: "muted small" }, "Your current files are replaced (they stay in the room's history)."),
        h("button", { type: "button", id: "fork-cancel", onclick: () => dialog.close() }, "Cancel")));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(choice); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The student's fork button: copies the demo into their room and opens it there. */
export function forkButton(roomId: string, say: (text: string, tone?: string) => void): HTMLButtonElement {
  const button = h("button", { type: "button", id: "fork", class: "primary",
    title: "Copy the demo's code as it is now into your own room, and continue there" }, "Fork to my room");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const preview = await get<ForkPreview>(`/api/rooms/${encodeURIComponent(roomId)}/fork`);
      const mode = preview.clashes.length ? await chooseMode(preview) : "add";
      if (mode === null) return;
      say("Copying the demo into your room…");
      const done = await post<ForkDone>(`/api/rooms/${encodeURIComponent(roomId)}/fork`, { mode });
      location.href = `/rooms/${encodeURIComponent(done.target_room_id)}`;
    } catch (e) {
      say(e instanceof ApiError || e instanceof Error ? `Could not fork: ${e.message}` : String(e), "err");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** The instructor's "fork for everyone": the demo into every student's room (their own files kept). */
export function forkAllButton(roomId: string, say: (text: string, tone?: string) => void): HTMLButtonElement {
  const button = h("button", { type: "button", id: "fork-all",
    title: "Copy the demo's code into every student's own room (their files are kept)" }, "Fork for everyone");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const done = await post<{ forked: number }>(`/api/rooms/${encodeURIComponent(roomId)}/fork-all`, { mode: "rename" });
      say(`Copied into ${done.forked} student room${done.forked === 1 ? "" : "s"}.`, "ok");
    } catch (e) {
      say(e instanceof Error ? `Could not fork: ${e.message}` : String(e), "err");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Where the student's copy is (after the instructor forked for everyone): their room's id. */
export async function myCopy(roomId: string): Promise<string | null> {
  const preview = await get<ForkPreview>(`/api/rooms/${encodeURIComponent(roomId)}/fork`);
  return preview.target_room_id;
}
