// The room's shared document: a Y.Doc kept on this device (y-indexeddb) and synced with the server over
// y-websocket. Every connection attempt fetches a fresh short-lived token; going offline pauses the socket and
// edits keep landing in IndexedDB, merging when the connection comes back.

import * as Y from "yjs";
import { IndexeddbPersistence } from "y-indexeddb";
import { WebsocketProvider } from "y-websocket";
import { wsBase, wsToken } from "../api";

export type ConnState = "connecting" | "online" | "offline" | "denied";

export interface Person { id: string; name: string; color: string; colorLight: string }

const PALETTE = ["#e03131", "#1c7ed6", "#2f9e44", "#e8590c", "#7048e8", "#0c8599", "#c2255c", "#8f5b00"];

const withColor = (id: string, name: string, color: string): Person => ({ id, name, color, colorLight: color + "33" });

export function personFor(id: string | number, name: string): Person {
  let hash = 0;
  for (const ch of String(id)) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  return withColor(String(id), name, PALETTE[hash % PALETTE.length]);
}

export class RoomDoc {
  readonly doc = new Y.Doc();
  readonly files: Y.Map<Y.Text> = this.doc.getMap<Y.Text>("files");
  readonly provider: WebsocketProvider;
  readonly local: IndexeddbPersistence;
  state: ConnState = "connecting";
  detail = "";
  private retries = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private connecting = false;
  private listeners: ((state: ConnState, detail: string) => void)[] = [];
  private syncedOnce: (() => void)[] = [];
  hasSynced = false;

  constructor(readonly roomId: string, me: Person | null, private readonly extraParams: Record<string, string> = {}) {
    this.local = new IndexeddbPersistence(`classroom:${location.host}:room:${roomId}`, this.doc);
    this.provider = new WebsocketProvider(wsBase() + "/collab", roomId, this.doc, { connect: false });
    const awareness = this.provider.awareness;
    // An invisible observer (an instructor looking in) has no awareness state: not listed, no cursor.
    if (me) awareness.setLocalStateField("user", me); else awareness.setLocalState(null);
    // Two people in a room must not share a colour: the later arrival (higher client id) moves to a free one.
    // One person on two devices is one person: they keep one colour.
    awareness.on("change", () => {
      const mine = awareness.getLocalState()?.user as Person | undefined;
      if (!mine) return;
      const taken = new Set<string>();
      awareness.getStates().forEach((state, client) => {
        if (client < this.doc.clientID && state?.user?.color && state.user.id !== mine.id) taken.add(state.user.color);
      });
      if (!taken.has(mine.color)) return;
      const free = PALETTE.find((c) => !taken.has(c));
      if (free) awareness.setLocalStateField("user", withColor(mine.id, mine.name, free));
    });
    this.provider.on("status", ({ status }: { status: string }) => {
      if (status === "connected") this.set("connecting", "Connected, syncing…");
    });
    this.provider.on("sync", (synced: boolean) => {
      if (!synced) return;
      this.retries = 0;
      this.set("online", "");
      if (!this.hasSynced) { this.hasSynced = true; this.syncedOnce.forEach((f) => f()); }
    });
    this.provider.on("connection-close", (event: CloseEvent | null) => {
      // Take reconnecting over from y-websocket: every attempt needs a fresh token.
      this.provider.shouldConnect = false;
      if (!navigator.onLine) return this.set("offline", "");
      const code = event?.code ?? 0;
      if (code >= 4400 && code < 4500 && code !== 4401) {
        return this.set("denied", event?.reason || "The server refused this room.");
      }
      this.set("connecting", "Reconnecting…");
      this.schedule();
    });
    window.addEventListener("offline", () => {
      clearTimeout(this.timer);
      this.provider.disconnect();
      this.set("offline", "");
    });
    window.addEventListener("online", () => { this.retries = 0; this.connect(); });
    if (navigator.onLine) this.connect(); else this.set("offline", "");
  }

  onState(listener: (state: ConnState, detail: string) => void): void {
    this.listeners.push(listener);
    listener(this.state, this.detail);
  }

  /** Calls `f` once the first sync with the server has completed. */
  whenSynced(f: () => void): void {
    if (this.hasSynced) f(); else this.syncedOnce.push(f);
  }

  private set(state: ConnState, detail: string): void {
    this.state = state;
    this.detail = detail;
    this.listeners.forEach((l) => l(state, detail));
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const delay = Math.min(250 * 2 ** this.retries, 5000);
    this.retries++;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  async connect(): Promise<void> {
    if (this.connecting || this.provider.ws) return;
    this.connecting = true;
    this.set("connecting", "Connecting…");
    try {
      this.provider.params = { ...this.extraParams, token: await wsToken() };
      this.provider.connect();
    } catch {
      if (navigator.onLine) this.schedule(); else this.set("offline", "");
    } finally {
      this.connecting = false;
    }
  }

  /** The text of a file, creating it (empty) when this person may write. */
  ensureFile(name: string): Y.Text {
    let text = this.files.get(name);
    if (!text) {
      text = new Y.Text();
      this.files.set(name, text);
    }
    return text;
  }

  fileNames(): string[] {
    return [...this.files.keys()].sort((a, b) =>
      a === "main.py" ? -1 : b === "main.py" ? 1 : a.localeCompare(b));
  }
}
