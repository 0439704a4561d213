// The room's socket for runs (WS /api/rooms/{id}/live): a snapshot of the recent runs on every (re)connect, then an
// event whenever a run of the room starts or finishes, and when the demo was forked for everyone. The same socket
// starts runs and carries the followed run's stream (frames with run_id), its input and Stop: a Run click costs
// one frame, no request and no new handshake. Reconnects with backoff and a fresh token; 4403/4404 stop it.

import { RunSummary, wsBase, wsToken } from "../api";

export interface FeedHandlers {
  snapshot(runs: RunSummary[]): void;
  run(run: RunSummary): void;
  forked?(by: string, count: number): void;
  /** A followed run's stream message, or the answer to a run / control frame (accepted, error). */
  stream?(msg: any): void;
  /** Every snapshot after the first: the socket came back (a followed run must be asked for again). */
  reconnected?(): void;
}

export class RoomFeed {
  private socket: WebSocket | null = null;
  private retries = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private snapshots = 0;

  constructor(private readonly roomId: string, private readonly handlers: FeedHandlers) {
    void this.connect();
    window.addEventListener("online", () => { if (!this.socket) { this.retries = 0; void this.connect(); } });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let token: string;
    try {
      token = await wsToken();
    } catch {
      this.schedule();
      return;
    }
    const url = `${wsBase()}/api/rooms/${encodeURIComponent(this.roomId)}/live?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onmessage = (ev) => {
      let msg: any;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "snapshot") {
        this.retries = 0;
        this.handlers.snapshot(msg.runs ?? []);
        if (this.snapshots++) this.handlers.reconnected?.();
      }
      else if (msg.type === "run" && msg.run) this.handlers.run(msg.run);
      else if (msg.type === "forked") this.handlers.forked?.(String(msg.by ?? ""), Number(msg.count ?? 0));
      else this.handlers.stream?.(msg);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (ev.code === 4403 || ev.code === 4404) { this.stopped = true; return; }
      this.schedule();
    };
  }

  /** Send a frame if the socket is open (after its snapshot); false otherwise (the caller falls back to HTTP). */
  send(msg: object): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !this.snapshots) return false;
    socket.send(JSON.stringify(msg));
    return true;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const delay = Math.min(500 * 2 ** this.retries, 10000);
    this.retries++;
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}
