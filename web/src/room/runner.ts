// Run and Stop for a room, and its shared console: starts the run and follows its stream (queued → started →
// output → exit) over the room's socket the page already holds (RunChannel; without it, POST /api/runs and the
// run's own stream socket), shows stdout and stderr apart, sends what the person types to the program's stdin, and explains
// the verdict in plain words. A run someone else starts in the room (the pair partner, the instructor's demo)
// takes the console too, labelled with who started it: their input shows as it is typed, only they can type.
// "Recent runs" is kept by the room feed (pushed); each entry opens its output and the code that ran.

import { ApiError, post, RunRef, RunSummary, wsBase, wsToken } from "../api";
import { clear, h } from "../dom";

export interface ExitInfo {
  verdict: string; exit_code?: number | null; wall_ms?: number | null;
  error?: { type?: string; message?: string; line?: number | null } | null;
  limits?: { wall_seconds?: number; memory_mb?: number } | null;
  stdout_truncated?: boolean; stderr_truncated?: boolean; detail?: string | null;
}

export interface RunnerParts {
  runButton: HTMLButtonElement; stopButton: HTMLButtonElement; status: HTMLElement; owner: HTMLElement;
  console: HTMLElement; inputForm: HTMLFormElement; input: HTMLInputElement; runs: HTMLElement;
}

export interface Me { id: string; name: string; instructor: boolean; canRun: boolean }

/** The room's socket (room/feed.ts): send() is false when it is not open, and the runner falls back to HTTP. */
export interface RunChannel { send(msg: object): boolean }

const MAX_CONSOLE_CHARS = 200_000;

export const seconds = (ms: number | null | undefined) => ms == null ? "" : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;

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

export const VERDICT_SHORT: Record<string, string> = {
  ok: "✓ ok", runtime_error: "✗ error", time_limit: "⏱ time limit", memory_limit: "✗ memory limit",
  output_limit: "✗ output limit", cancelled: "■ stopped", internal_error: "! server problem",
};

/** The newest first, at most `limit`, one entry per run (a later event about a run replaces the earlier one). */
export function mergeRuns(list: RunSummary[], run: RunSummary, limit = 50): RunSummary[] {
  const rest = list.filter((r) => String(r.id) !== String(run.id));
  const old = list.find((r) => String(r.id) === String(run.id));
  const merged = old ? { ...old, ...Object.fromEntries(Object.entries(run).filter(([, v]) => v != null)) } : run;
  const all = [merged as RunSummary, ...rest];
  all.sort((a, b) => String(b.created_at ?? "").localeCompare(String(a.created_at ?? "")));
  return all.slice(0, limit);
}

export class Runner {
  private socket: WebSocket | null = null;
  private runId: string | null = null;
  private owner: { id: string; name: string } | null = null; // whose run the console shows (null: mine)
  private started = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private phase: "idle" | "submitting" | "queued" | "running" = "idle";
  private chars = 0;
  private stopping = false;
  private reconnects = 0;
  private recent: RunSummary[] = [];
  private via: "room" | "stream" = "stream"; // where the followed run's stream comes from
  private ref = ""; // the pending run frame's ref, until it is accepted or refused
  private refs = 0;

  constructor(
    private readonly roomId: string,
    private readonly parts: RunnerParts,
    private readonly onExit: (exit: ExitInfo) => void,
    private readonly wallLimit = 10,
    private readonly me: Me,
    private readonly open: (run: RunSummary) => void = () => undefined,
    private readonly channel: RunChannel | null = null,
  ) {
    parts.runButton.addEventListener("click", () => this.run());
    parts.stopButton.addEventListener("click", () => this.stop());
    parts.inputForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.sendInput(); });
    parts.input.addEventListener("keydown", (ev) => {
      // Ctrl+D ends the program's input, as in a terminal.
      if (ev.key === "d" && ev.ctrlKey && this.connected() && !this.owner) {
        ev.preventDefault();
        this.sendInput();
        this.control({ type: "stdin_eof" });
        this.write("sys", "[end of input]\n");
      }
    });
    this.setPhase("idle");
    this.label();
  }

  get busy(): boolean { return this.phase !== "idle"; }

  /** Whether the console is following a run (mine or someone else's) right now. */
  get watching(): string | null { return this.phase === "idle" ? null : this.runId; }

  private setPhase(phase: Runner["phase"]): void {
    this.phase = phase;
    const { runButton, stopButton, input, inputForm } = this.parts;
    const mine = this.owner === null;
    runButton.disabled = !this.me.canRun || (phase !== "idle" && mine);
    stopButton.disabled = phase === "idle" || phase === "submitting" || (!mine && !this.me.instructor);
    input.disabled = !mine || (phase !== "running" && phase !== "queued");
    input.placeholder = mine ? "Type, then press Enter" : `Only ${this.owner?.name ?? "who started it"} can type here`;
    inputForm.classList.toggle("active", !input.disabled);
    if (phase !== "running") inputForm.classList.remove("waiting");
    if (phase !== "running") clearInterval(this.ticker);
  }

  private label(): void {
    const el = this.parts.owner;
    el.dataset.owner = this.owner ? "other" : "me";
    el.textContent = this.runId === null ? "" : this.owner ? `${this.owner.name}'s run` : "Your run";
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

  /** A check's program output, shown like a run's (the check itself reports in its own panel). */
  showCheckOutput(kind: "out" | "err" | "sys", text: string, fresh = false): void {
    if (fresh) { clear(this.parts.console); this.chars = 0; }
    this.write(kind, text);
  }

  private reset(runId: string | null, owner: Runner["owner"]): void {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.via = "stream";
    this.ref = "";
    this.runId = runId;
    this.owner = owner;
    this.stopping = false;
    this.reconnects = 0;
    clear(this.parts.console);
    this.chars = 0;
    this.label();
  }

  async run(): Promise<void> {
    if (this.phase !== "idle" && this.owner === null) return;
    this.reset(null, null);
    this.setPhase("submitting");
    this.status("Sending…", "your program goes to the queue.");
    // One frame on the room's socket: the answer (accepted, then the stream; or error) comes back on it.
    const ref = String(++this.refs);
    if (this.channel?.send({ type: "run", ref, interactive: true })) {
      this.ref = ref;
      this.via = "room";
      return;
    }
    try {
      // interactive: stdin stays open so the console's input line can answer input().
      const ref = await post<RunRef>("/api/runs", { room_id: this.roomId, interactive: true });
      this.runId = String(ref.id);
      this.label();
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

  /** Show a run someone else started in this room, live, unless a run of mine holds the console. */
  watch(run: RunSummary): void {
    const id = String(run.id);
    if (id === this.runId) return;
    if (this.owner === null && this.phase !== "idle") return; // mine goes first; theirs is in the list
    const who = run.display_name || "Someone";
    this.reset(id, { id: String(run.user_id ?? ""), name: String(run.user_id) === this.me.id ? "Your other device" : who });
    this.queued(null);
    this.status("Queued", `— ${who} started a run.`);
    void this.follow(id);
  }

  private queued(position: number | null): void {
    this.setPhase("queued");
    this.status("Queued", position ? `— position ${position} in the queue.` : "— waiting for a free runner.");
  }

  private async follow(runId: string): Promise<void> {
    if (this.channel?.send({ type: "follow", run_id: runId })) {
      this.via = "room";
      return;
    }
    this.via = "stream";
    let token: string;
    try { token = await wsToken(); } catch { return this.lost(runId); }
    if (this.runId !== runId) return;
    const socket = new WebSocket(`${wsBase()}/api/runs/${encodeURIComponent(runId)}/stream?token=${encodeURIComponent(token)}`);
    this.socket = socket;
    socket.onmessage = (ev) => {
      let msg: any;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (this.socket === socket) this.handle(msg);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (ev.code === 1013 && this.phase !== "idle") {
        this.setPhase("idle");
        this.status("Cannot run right now:", ev.reason || "the server has no runner available. Try again soon.", "err");
        return;
      }
      // The stream ended without a verdict: open it again (the server replays the run so far, or its result).
      if (this.phase !== "idle") this.lost(runId);
    };
  }

  /** A frame of the room's socket about runs: the answer to my run frame, or the followed run's stream. */
  roomFrame(msg: any): void {
    if (msg.type === "accepted" && this.ref && msg.ref === this.ref) {
      this.ref = "";
      this.runId = String(msg.run_id);
      this.label();
      this.queued(msg.queue_position ?? null);
    } else if (msg.type === "error" && this.ref && msg.ref === this.ref) {
      this.ref = "";
      this.setPhase("idle");
      this.status("Could not run", msg.status === 429
        ? "You started many runs in a short time. Wait a moment and try again." : String(msg.detail ?? ""), "err");
    } else if (this.via === "room" && msg.run_id != null && String(msg.run_id) === this.runId) {
      if (msg.type === "error") this.status("Could not do that:", String(msg.detail ?? ""), "err");
      else this.handle(msg);
    }
  }

  /** The room's socket came back: a run it was following is asked for again (the server replays it so far). */
  resync(): void {
    if (this.via !== "room" || this.phase === "idle") return;
    if (this.ref) { // the run frame's answer was lost with the socket: the snapshot lists the run if it started
      const mine = this.recent.find((r) => String(r.user_id) === this.me.id && (r.status === "queued" || r.status === "running"));
      this.ref = "";
      if (!mine) { this.setPhase("idle"); this.status("Could not run", "The connection dropped. Try again.", "err"); return; }
      this.runId = String(mine.id);
      this.label();
    }
    clear(this.parts.console);
    this.chars = 0;
    if (this.runId) void this.follow(this.runId);
  }

  private connected(): boolean {
    return this.via === "room" || this.socket?.readyState === WebSocket.OPEN;
  }

  /** stdin, end of input or cancel for the followed run, on whichever socket carries it. */
  private control(msg: { type: string; data?: string }): boolean {
    if (this.via === "room") return this.runId !== null && !!this.channel?.send({ ...msg, run_id: this.runId });
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  private lost(runId: string): void {
    if (this.runId !== runId || this.phase === "idle") return;
    if (this.reconnects >= 8) {
      this.setPhase("idle");
      this.status("Lost the run", "The connection to the run was lost. Its result will appear under Recent runs.", "err");
      return;
    }
    this.reconnects++;
    clear(this.parts.console);
    this.chars = 0;
    setTimeout(() => void this.follow(runId), Math.min(250 * 2 ** this.reconnects, 5000));
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
      case "stdin":
        // What the starter typed, echoed to everyone else (the starter's own page echoed it as they typed).
        if (this.owner !== null) this.write("in", String(msg.data ?? ""));
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
    const who = this.owner ? `${this.owner.name}'s program` : "your program";
    this.status("Running", `${s.toFixed(1)} s${waiting ? ` — ${who} may be waiting for input${this.owner ? "" : " below"}.` : ""}`);
  }

  /** A prompt without a newline usually means input() is waiting: point the person to the input line. */
  private maybeWaiting(chunk: string): void {
    const waiting = chunk.length > 0 && !chunk.endsWith("\n");
    this.parts.inputForm.classList.toggle("waiting", waiting && this.owner === null);
    const active = document.activeElement;
    if (waiting && this.owner === null &&
        (active === document.body || active === this.parts.runButton || active === this.parts.stopButton)) {
      this.parts.input.focus();
    }
  }

  private sendInput(): void {
    const { input } = this.parts;
    if (!this.connected() || input.disabled || this.owner) return;
    const line = input.value + "\n";
    if (!this.control({ type: "stdin", data: line })) return;
    this.write("in", line);
    input.value = "";
    this.parts.inputForm.classList.remove("waiting");
  }

  stop(): void {
    if (this.control({ type: "cancel" })) {
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
    const who = this.owner ? `${this.owner.name}'s run — ` : "";
    this.status(title + ":", who + (this.owner ? detail.replace(/^Your program/, "The program") : detail), tone);
    if (exit.verdict !== "ok" && exit.verdict !== "runtime_error") this.write("sys", `\n[${title}]\n`);
    if (exit.stdout_truncated || exit.stderr_truncated) this.write("sys", "\n[some output was cut off]\n");
    this.onExit(exit);
  }

  // --- recent runs (pushed by the room feed) ------------------------------------------------------------

  /** The feed's snapshot: the room's recent runs, newest first. A run still going is shown live. */
  setRuns(runs: RunSummary[]): void {
    this.recent = runs.slice(0, 50);
    this.renderRuns();
    const going = runs.find((r) => r.status === "queued" || r.status === "running");
    if (going && this.phase === "idle" && String(going.id) !== this.runId) this.watch(going);
  }

  /** A run of the room started or finished (anywhere, by anyone): list it now; show a new one live. */
  upsert(run: RunSummary): void {
    this.recent = mergeRuns(this.recent, run);
    this.renderRuns();
    if (run.status !== "queued" && run.status !== "running") return;
    const fromHere = String(run.user_id) === this.me.id && (this.phase === "submitting" || String(run.id) === this.runId);
    if (!fromHere) this.watch(run);
  }

  private renderRuns(): void {
    const runs = this.recent;
    clear(this.parts.runs, runs.length ? runs.slice(0, 10).map((r) => {
      const who = String(r.user_id) === this.me.id ? "You" : r.display_name || "Someone";
      const when = r.created_at ? new Date(r.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      const verdict = r.verdict ?? r.status ?? "";
      const going = r.status === "queued" || r.status === "running";
      const check = r.kind === "grade";
      const passed = check && r.score != null && r.score >= 0.999999;
      const label = going ? "… running" : check
        ? (r.score == null ? "check" : `${passed ? "✓" : "✗"} check ${Math.round(r.score * 100)}%`)
        : VERDICT_SHORT[verdict] ?? verdict;
      return h("li", { "data-verdict": check && !passed ? "failed-check" : verdict, "data-run": String(r.id) },
        h("button", { type: "button", class: "run-open link", disabled: going,
          title: going ? "Still running" : "Open its output and the code that ran",
          // No "run" in this name, not even "running": the Run button must stay the only button called that.
          "aria-label": `${who}, ${when}: ${going ? "in progress" : label} (open output and code)`,
          onclick: () => this.open(r) },
          h("span", { class: "verdict" }, label)),
        h("span", { class: "run-who" }, who),
        r.wall_ms != null ? h("span", { class: "muted" }, seconds(r.wall_ms)) : null,
        when ? h("time", { class: "muted", datetime: r.created_at }, when) : null);
    }) : h("li", { class: "muted" }, "No runs yet."));
  }
}
