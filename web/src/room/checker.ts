// Check for a room opened on a lesson with hidden tests: sends the files as this person sees them (the document's
// state vector), follows the check like a run, then shows the score, each test passed or failed with its message,
// and the hints the room's failed checks have revealed.

import * as Y from "yjs";
import { ApiError, get, post, RoomChecks, RunRef, TestResult, toBase64, wsBase, wsToken } from "../api";
import { clear, h } from "../dom";
import { inline } from "./markdown";

export interface CheckerParts { button: HTMLButtonElement; panel: HTMLElement }

const fmt = (n: number | null | undefined) => n == null ? "–" : Number.isInteger(n) ? String(n) : n.toFixed(1);

export class Checker {
  private busy = false;

  constructor(
    private readonly roomId: string,
    private readonly doc: Y.Doc,
    private readonly parts: CheckerParts,
    private readonly onFinished: () => void = () => undefined,
    private readonly onOutput: (kind: "out" | "err" | "sys", text: string, fresh?: boolean) => void = () => undefined,
  ) {
    parts.button.addEventListener("click", () => void this.check());
    parts.panel.append(h("div", { "data-part": "result" }), h("div", { "data-part": "standing" }));
  }

  /** The room's standing (best score, hints); null when its lesson has no hidden tests. */
  async load(): Promise<RoomChecks | null> {
    try {
      const state = await get<RoomChecks>(`/api/rooms/${encodeURIComponent(this.roomId)}/checks`);
      this.renderStanding(state);
      return state;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) return null;
      throw e;
    }
  }

  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.parts.button.disabled = true;
    const result = this.section("result");
    clear(result, h("p", { class: "check-status", role: "status" }, "Checking your code against the hidden tests…"));
    try {
      const ref = await post<RunRef>(`/api/rooms/${encodeURIComponent(this.roomId)}/check`,
        { state_vector: toBase64(Y.encodeStateVector(this.doc)) });
      const exit = await this.follow(String(ref.id));
      this.renderResult(exit);
      await this.load();
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 429
        ? "You checked many times in a short time. Wait a moment and try again."
        : e instanceof Error ? e.message : String(e);
      clear(result, h("p", { class: "check-status", "data-tone": "err", role: "alert" }, "Could not check: ", msg));
    } finally {
      this.busy = false;
      this.parts.button.disabled = false;
      this.onFinished();
    }
  }

  private async follow(runId: string): Promise<any> {
    const token = await wsToken();
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsBase()}/api/runs/${encodeURIComponent(runId)}/stream?token=${encodeURIComponent(token)}`);
      let exit: any = null;
      socket.onmessage = (ev) => {
        let msg: any;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (msg.type === "started") this.onOutput("sys", "[check: your program's output]\n", true);
        else if (msg.type === "stdout" || msg.type === "stderr") this.onOutput(msg.type === "stdout" ? "out" : "err", String(msg.data ?? ""));
        else if (msg.type === "exit") { exit = msg; socket.close(); }
      };
      socket.onclose = (ev) => exit ? resolve(exit) : reject(new Error(ev.reason || "the connection to the check was lost"));
    });
  }

  private section(name: "result" | "standing"): HTMLElement {
    return this.parts.panel.querySelector<HTMLElement>(`[data-part="${name}"]`) as HTMLElement;
  }

  private renderResult(exit: any): void {
    const grade = exit.grade as { loaded: boolean; error: string; tests: TestResult[] } | null;
    const result = this.section("result");
    if (!grade) {
      const why = exit.verdict === "time_limit" ? "it ran out of time" : exit.detail || exit.verdict;
      clear(result, h("p", { class: "check-status", "data-tone": "err", role: "alert" },
        h("strong", {}, "Not graded: "), `the check could not finish (${why}).`));
      return;
    }
    const total = grade.tests.reduce((n, t) => n + t.points, 0);
    const passed = grade.tests.filter((t) => t.passed);
    const all = passed.length === grade.tests.length;
    clear(result,
      h("p", { class: "check-status", "data-tone": all ? "ok" : "err", role: "status", id: "check-summary" },
        h("strong", {}, all ? "All tests passed" : `${passed.length} of ${grade.tests.length} tests passed`),
        ` — ${fmt((exit.fraction ?? 0) * 100)}% of the points`),
      !grade.loaded ? h("p", { class: "check-load-error" }, grade.error) : null,
      h("ul", { class: "tests", id: "check-tests" }, grade.tests.map((t) =>
        h("li", { "data-passed": String(t.passed) },
          h("span", { class: "mark", "aria-hidden": "true" }, t.passed ? "✓" : "✗"),
          h("span", { class: "sr-only" }, t.passed ? "passed: " : "failed: "),
          h("span", { class: "test-name" }, t.name),
          h("span", { class: "muted small" }, ` (${fmt(t.points)} of ${fmt(total)})`),
          !t.passed && grade.loaded && t.message ? h("div", { class: "test-message" }, t.message) : null))));
  }

  private renderStanding(state: RoomChecks): void {
    const standing = this.section("standing");
    const solved = state.best_score != null && state.best_score >= state.points;  // no more hints to earn
    clear(standing,
      h("p", { class: "small", id: "check-best" },
        state.best_score == null ? `Not checked yet · ${state.test_count} hidden tests, ${state.points} points`
          : `Best: ${fmt(state.best_score)} / ${state.points} points · ${state.attempts} check${state.attempts === 1 ? "" : "s"}`),
      state.hints.length ? h("div", { class: "hints", id: "hints" },
        h("h3", {}, "Hints"), h("ol", {}, state.hints.map((hint) => {
          const item = h("li", {});
          item.innerHTML = inline(hint);  // escaped first: only code, emphasis and links become markup
          return item;
        }))) : null,
      state.next_hint_in != null && state.hint_count > state.hints.length && state.attempts > 0 && !solved
        ? h("p", { class: "muted small" }, `A hint appears after ${state.next_hint_in} more failed check${state.next_hint_in === 1 ? "" : "s"}.`)
        : null);
  }
}
