// Run and Stop for a room: submits the run, follows its stream (queued → started → output → exit), shows
// stdout and stderr apart in the console, sends what the person types on the input line to the program's
// stdin, and explains the verdict in plain words.

import { ApiError, get, post, RunRef, RunSummary, wsBase, wsToken } from "../api";
import { clear, h } from "../dom";

export interface ExitInfo {
  verdict: string; exit_code?: number | null; wall_ms?: number | null;
  error?: { type?: string; message?: string; line?: number | null } | null;
  limits?: { wall_seconds?: number; memory_mb?: number } | null;
  stdout_truncated?: boolean; stderr_truncated?: boolean; detail?: string | null;
}

export interface RunnerParts {
  runButton: HTMLButtonElement; stopButton: HTMLButtonElement; status: HTMLElement;
  console: HTMLElement; inputForm: HTMLFormElement; input: HTMLInputElement; runs: HTMLElement;
}

const MAX_CONSOLE_CHARS = 200_000;

const seconds = (ms: number | null | undefined) => ms == null ? "" : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;

/** One line a person can read for a finished run. */
export function explain(exit: ExitInfo, wallLimit = 10): { title: string; detail: string; tone: string } {
  const took = exit.wall_ms != null ? ` in ${seconds(exit.wall_ms)}` : "";
  const err = exit.error;
  switch (exit.verdict) {
    case "ok":
      return { title: "Finished", detail: `Your program ended normally${took}.`, tone: "ok" };
    case "runtime_error": {
      const where = err?.line ? ` on line ${err.line}` : "";
      const what = err?.type ? `${err.type}${err.message ? ": " + err.message : ""}` : `exit code ${exit.exit_code ?? "?"}`;
      return { title: `Error${where}`, detail: `${what}`, tone: "err" };
    }
    case "time_limit": {
      // The exit message does not carry the limit; the time the run took before it was stopped is the limit.
      const limit = exit.limits?.wall_seconds ?? (exit.wall_ms ? Math.max(1, Math.floor(exit.wall_ms / 1000)) : wallLimit);
      return { title: "Time limit", detail: `Your program ran longer than ${limit} s and was stopped. ` +
        "Look for a loop that never ends, or an input() nobody answered.", tone: "err" };
    }
    case "memory_limit": {
      const mb = exit.limits?.memory_mb;
      return { title: "Memory limit", detail: `Your program used more memory than allowed${mb ? ` (${mb} MB)` : ""}. ` +
        "Look for a list or string that keeps growing.", tone: "err" };
    }
    case "output_limit":
      return { title: "Output limit", detail: "Your program printed too much, so the rest was cut off.", tone: "err" };
    case "cancelled":
      return { title: "Stopped", detail: `The run was stopped before it finished${took}.`, tone: "warn" };
    case "internal_error":
      return { title: "Server problem", detail: "Something went wrong on our side, not in your program. Try again.",
        tone: "err" };
    default:
      return { title: exit.verdict, detail: took ? `Finished${took}.` : "", tone: "warn" };
  }
}

const VERDICT_SHORT: Record<string, string> = {
  ok: "✓ ok", runtime_error: "✗ error", time_limit: "⏱ time limit", memory_limit: "✗ memory limit",
  output_limit: "✗ output limit", cancelled: "■ stopped", internal_error: "! server problem",
};

export class Runner {
  private socket: WebSocket | null = null;
  private runId: string | null = null;
  private started = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private phase: "idle" | "submitting" | "queued" | "running" = "idle";
  private chars = 0;
  private stopping = false;

  constructor(
    private readonly roomId: string,
    private readonly parts: RunnerParts,
    private readonly onExit: (exit: ExitInfo) => void,
    private readonly wallLimit = 10,
    private readonly names: Map<string, string> = new Map(),
  ) {
    parts.runButton.addEventListener("click", () => this.run());
    parts.stopButton.addEventListener("click", () => this.stop());
    parts.inputForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.sendInput(); });
    parts.input.addEventListener("keydown", (ev) => {
      // Ctrl+D ends the program's input, as in a terminal.
      if (ev.key === "d" && ev.ctrlKey && this.socket?.readyState === WebSocket.OPEN) {
        ev.preventDefault();
        this.sendInput();
        this.socket.send(JSON.stringify({ type: "stdin_eof" }));
        this.write("sys", "[end of input]\n");
      }
    });
    this.setPhase("idle");
  }

  get busy(): boolean { return this.phase !== "idle"; }

  private setPhase(phase: Runner["phase"]): void {
    this.phase = phase;
    const { runButton, stopButton, input, inputForm } = this.parts;
    runButton.disabled = phase !== "idle";
    stopButton.disabled = phase === "idle" || phase === "submitting";
    input.disabled = phase !== "running" && phase !== "queued";
    inputForm.classList.toggle("active", !input.disabled);
    if (phase !== "running") inputForm.classList.remove("waiting");
    if (phase !== "running") clearInterval(this.ticker);
  }

  private status(title: string, detail = "", tone = "info"): void {
    const el = this.parts.status;
    el.dataset.tone = tone;
    clear(el, h("strong", {}, title), detail ? " " + detail : "");
  }

  private write(kind: "out" | "err" | "in" | "sys", text: string): void {
    const con = this.parts.console;
    const last = con.lastElementChild as HTMLElement | null;
    if (last && last.dataset.kind === kind) last.append(text);
    else con.append(h("span", { class: `con-${kind}`, "data-kind": kind }, text));
    this.chars += text.length;
    while (this.chars > MAX_CONSOLE_CHARS && con.firstChild) {
      this.chars -= con.firstChild.textContent?.length ?? 0;
      con.firstChild.remove();
    }
    con.scrollTop = con.scrollHeight;
  }

  async run(): Promise<void> {
    if (this.phase !== "idle") return;
    this.setPhase("submitting");
    this.stopping = false;
    clear(this.parts.console);
    this.chars = 0;
    this.status("Sending…", "your program goes to the queue.");
    try {
      // interactive: stdin stays open so the console's input line can answer input().
      const ref = await post<RunRef>("/api/runs", { room_id: this.roomId, interactive: true });
      this.runId = String(ref.id);
      this.queued(ref.queue_position ?? null);
      await this.follow(this.runId);
    } catch (e) {
      this.setPhase("idle");
      const msg = e instanceof ApiError && e.status === 429
        ? "You started many runs in a short time. Wait a moment and try again."
        : e instanceof Error ? e.message : String(e);
      this.status("Could not run", msg, "err");
    }
  }

  private queued(position: number | null): void {
    this.setPhase("queued");
    this.status("Queued", position ? `— position ${position} in the queue.` : "— waiting for a free runner.");
  }

  private async follow(runId: string): Promise<void> {
    const token = await wsToken();
    const socket = new WebSocket(`${wsBase()}/api/runs/${encodeURIComponent(runId)}/stream?token=${encodeURIComponent(token)}`);
    this.socket = socket;
    socket.onmessage = (ev) => {
      let msg: any;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.handle(msg);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (ev.code === 1013 && this.phase !== "idle") {
        this.setPhase("idle");
        this.status("Cannot run right now:", ev.reason || "the server has no runner available. Try again soon.", "err");
        return;
      }
      // The stream ended without a verdict: ask for the run's final state instead.
      if (this.phase !== "idle") void this.poll(runId);
    };
  }

  private handle(msg: any): void {
    switch (msg.type) {
      case "queued": this.queued(msg.position ?? null); break;
      case "started":
        this.setPhase("running");
        this.started = performance.now();
        this.tick();
        this.ticker = setInterval(() => this.tick(), 250);
        break;
      case "stdout":
      case "stderr":
        if (this.phase === "queued") this.handle({ type: "started" });
        this.write(msg.type === "stdout" ? "out" : "err", String(msg.data ?? ""));
        if (msg.type === "stdout") this.maybeWaiting(String(msg.data ?? ""));
        break;
      case "retry":
        // A runner failed mid-run; the server starts the program again and its earlier output is void.
        clear(this.parts.console);
        this.chars = 0;
        this.write("sys", "[the run restarted on another runner]\n");
        break;
      case "exit": this.finish(msg as ExitInfo); break;
      case "error": this.status("Run failed", String(msg.detail ?? msg.message ?? msg.error ?? ""), "err"); break;
    }
  }

  private tick(): void {
    if (this.stopping) return;
    const s = (performance.now() - this.started) / 1000;
    const waiting = this.parts.inputForm.classList.contains("waiting");
    this.status("Running", `${s.toFixed(1)} s${waiting ? " — your program may be waiting for input below." : ""}`);
  }

  /** A prompt without a newline usually means input() is waiting: point the person to the input line. */
  private maybeWaiting(chunk: string): void {
    const waiting = chunk.length > 0 && !chunk.endsWith("\n");
    this.parts.inputForm.classList.toggle("waiting", waiting);
    const active = document.activeElement;
    if (waiting && (active === document.body || active === this.parts.runButton || active === this.parts.stopButton)) {
      this.parts.input.focus();
    }
  }

  private sendInput(): void {
    const { input } = this.parts;
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN || input.disabled) return;
    const line = input.value + "\n";
    this.socket.send(JSON.stringify({ type: "stdin", data: line }));
    this.write("in", line);
    input.value = "";
    this.parts.inputForm.classList.remove("waiting");
  }

  stop(): void {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "cancel" }));
      this.stopping = true;
      this.status("Stopping…");
    } else if (this.runId && this.phase !== "idle") {
      this.stopping = true;
      this.status("Stopping…");
      void post(`/api/runs/${encodeURIComponent(this.runId)}/cancel`).catch(() => undefined);
    }
  }

  private finish(exit: ExitInfo): void {
    if (this.phase === "idle") return;
    this.setPhase("idle");
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    const { title, detail, tone } = explain(exit, this.wallLimit);
    this.status(title + ":", detail, tone);
    if (exit.verdict !== "ok" && exit.verdict !== "runtime_error") this.write("sys", `\n[${title}]\n`);
    if (exit.stdout_truncated || exit.stderr_truncated) this.write("sys", "\n[some output was cut off]\n");
    this.onExit(exit);
    void this.loadRecent();
  }

  private async poll(runId: string): Promise<void> {
    for (let i = 0; i < 120 && this.phase !== "idle"; i++) {
      try {
        const run = await get<RunSummary & { stdout?: string; stderr?: string }>(`/api/runs/${encodeURIComponent(runId)}`);
        if (run.verdict) {
          if (run.stdout) this.write("out", run.stdout);
          if (run.stderr) this.write("err", run.stderr);
          this.finish(run as ExitInfo);
          return;
        }
      } catch { /* try again */ }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (this.phase !== "idle") {
      this.setPhase("idle");
      this.status("Lost the run", "The connection to the run was lost. Check the recent runs below.", "err");
    }
  }

  async loadRecent(): Promise<void> {
    let runs: RunSummary[];
    try {
      const data = await get<RunSummary[] | { runs: RunSummary[] }>(`/api/rooms/${encodeURIComponent(this.roomId)}/runs`);
      runs = Array.isArray(data) ? data : data.runs ?? [];
    } catch {
      return;
    }
    clear(this.parts.runs, runs.length ? runs.slice(0, 10).map((r) => {
      const who = r.user?.display_name ?? r.display_name ?? r.user_name ?? (r.user_id ? this.names.get(String(r.user_id)) : "") ?? "";
      const when = r.created_at ? new Date(r.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      const verdict = r.verdict ?? r.status ?? "";
      return h("li", { "data-verdict": verdict },
        h("span", { class: "verdict" }, VERDICT_SHORT[verdict] ?? verdict),
        who ? h("span", {}, who) : null,
        r.wall_ms != null ? h("span", { class: "muted" }, seconds(r.wall_ms)) : null,
        when ? h("time", { class: "muted", datetime: r.created_at }, when) : null);
    }) : h("li", { class: "muted" }, "No runs yet."));
  }
}
