// The class channel: one WebSocket per open class page (WS /api/classes/{id}/events). The server sends a full
// snapshot on every (re)connect, then events; this page never polls. Reconnects with a fresh token and backoff;
// close codes 4403/4404 mean the class is not this person's any more (removed), so it stops and says so.

import { ApiError, wsBase, wsToken } from "./api";

export type Event = { type: string; [key: string]: any };
export interface RoomState {
  id: string; name: string; mode: string; lesson: string | null; members: Record<string, string>;
  archived?: boolean; visible?: boolean;
}
export interface Hand {
  id: string; user_id: string; room_id: string | null; note: string; file: string | null; line: number | null;
  created_at: string; resolved_at: string | null; resolved_by: string | null;
}
export interface Person { id: string; display_name: string }
export interface Snapshot extends Event {
  class: { id: string; name: string; course: string | null; archived: boolean; join_code: string | null };
  me: { id: string; display_name: string; role: string };
  rooms: RoomState[]; lessons: { slug: string; title: string; course: string }[];
  hands: Hand[]; follow: { room_id: string; by: string } | null; online: Person[];
  roster?: { user_id: string; display_name: string; role: string }[];
  tiles?: Event[]; runs?: Record<string, Event>; stuck?: Event[];
}

export interface ChannelHandlers {
  snapshot(s: Snapshot): void;
  event(e: Event): void;
  state?(state: "connecting" | "online" | "offline", detail: string): void;
  gone?(code: number, reason: string): void;
}

export class ClassChannel {
  private ws: WebSocket | null = null;
  private retries = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(readonly classId: string, private readonly handlers: ChannelHandlers, private readonly grid = false) {
    window.addEventListener("online", () => { this.retries = 0; this.connect(); });
    this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.ws) return;
    this.handlers.state?.("connecting", "Connecting…");
    let token: string;
    try {
      token = await wsToken();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {  // signed out, or removed from their last class
        this.stopped = true;
        this.handlers.gone?.(4401, e.message);
        return;
      }
      return this.later();
    }
    const url = `${wsBase()}/api/classes/${encodeURIComponent(this.classId)}/events?token=${encodeURIComponent(token)}`
      + (this.grid ? "&grid=1" : "");
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (m) => {
      let event: Event;
      try { event = JSON.parse(String(m.data)); } catch { return; }
      if (event.type === "snapshot") {
        this.retries = 0;
        this.handlers.state?.("online", "");
        this.handlers.snapshot(event as Snapshot);
      } else if (event.type !== "pong") {
        this.handlers.event(event);
      }
    };
    ws.onclose = (e) => {
      this.ws = null;
      clearInterval(this.pinger);
      if (this.stopped) return;
      if (e.code === 4403 || e.code === 4404 || e.code === 4401) {
        this.stopped = true;
        this.handlers.gone?.(e.code, e.reason);
        return;
      }
      this.handlers.state?.(navigator.onLine ? "connecting" : "offline", "Reconnecting…");
      this.later();
    };
    // A keep-alive that also notices a dead connection behind a proxy.
    this.pinger = setInterval(() => { if (ws.readyState === 1) ws.send('{"type":"ping"}'); }, 25000);
  }

  private later(): void {
    clearTimeout(this.timer);
    const delay = Math.min(250 * 2 ** this.retries, 5000);
    this.retries++;
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}

/** "3 min", "45 s": how long ago an ISO time was. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Where a page goes when the class is no longer this person's (removed, or the class archived). */
export function leaveClass(message: string): void {
  sessionStorage.setItem("classroom:notice", message);
  location.href = "/";
}

/** The notice a previous page left (shown once). */
export function takeNotice(): string | null {
  const notice = sessionStorage.getItem("classroom:notice");
  sessionStorage.removeItem("classroom:notice");
  return notice;
}
