// A past run opened from "Recent runs": who ran it and when, its verdict, its output, and the code that ran —
// the files as they were in the room's document when it was submitted (GET /api/runs/{id}/code).

import { get, RunSummary } from "../api";
import { clear, h } from "../dom";
import { ExitInfo, explain, seconds, VERDICT_SHORT } from "./runner";

interface RunDetail extends ExitInfo { id: string; stdout: string; stderr: string; user_id: string; created_at: string }
interface RunCode { entry: string; files: { name: string; content: string }[]; state_vector: string | null }

export function openRun(run: RunSummary, me: string): void {
  const body = h("div", { class: "run-view-body" }, h("p", { class: "muted" }, "Loading…"));
  const who = String(run.user_id) === me ? "Your" : `${run.display_name || "Someone"}'s`;
  const when = run.created_at ? new Date(run.created_at).toLocaleTimeString() : "";
  const dialog = h("dialog", { class: "run-view card", "aria-labelledby": "run-view-title" },
    h("header", { class: "run-view-head" },
      h("h2", { id: "run-view-title" }, `${who} run`, when ? h("span", { class: "muted" }, ` · ${when}`) : null),
      h("button", { type: "button", class: "close", "aria-label": "Close", onclick: () => dialog.close() }, "✕")),
    body);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.addEventListener("click", (ev) => { if (ev.target === dialog) dialog.close(); });
  document.body.append(dialog);
  dialog.showModal();
  const id = encodeURIComponent(String(run.id));
  Promise.all([get<RunDetail>(`/api/runs/${id}`), get<RunCode>(`/api/runs/${id}/code`)]).then(([detail, code]) => {
    const verdict = detail.verdict ?? "";
    const { title, detail: words, tone } = verdict ? explain(detail) : { title: "Running", detail: "", tone: "info" };
    const output = h("pre", { class: "console run-output", "aria-label": "Output of this run", tabindex: "0" });
    if (detail.stdout) output.append(h("span", { class: "con-out" }, detail.stdout));
    if (detail.stderr) output.append(h("span", { class: "con-err" }, detail.stderr));
    if (!detail.stdout && !detail.stderr) output.append(h("span", { class: "con-sys" }, "(no output)"));
    clear(body,
      h("p", { class: "run-status", "data-tone": tone },
        h("strong", {}, `${VERDICT_SHORT[verdict] ?? title}`), " ", words,
        detail.wall_ms != null ? h("span", { class: "muted" }, ` (${seconds(detail.wall_ms)})`) : null),
      h("h3", {}, "Output"), output,
      h("h3", {}, "The code that ran"),
      code.files.map((f) => h("figure", { class: "run-file" },
        h("figcaption", {}, f.name, f.name === code.entry ? h("span", { class: "badge" }, "ran") : null),
        h("pre", { class: "code", tabindex: "0" }, f.content || " "))));
  }).catch((e: unknown) => {
    clear(body, h("p", { class: "form-error", role: "alert" }, e instanceof Error ? e.message : String(e)));
  });
}
