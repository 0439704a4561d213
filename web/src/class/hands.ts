// The help queue an instructor sees: open hands oldest first, how long each has waited, the message, a link
// that jumps into the room at the student's cursor line, and Resolve. Fed by the class channel's hand events.

import { ApiError, post } from "../api";
import { clear, h } from "../dom";
import { ago, Hand } from "../channel";

export class HandQueue {
  readonly el = h("ol", { class: "hands", id: "hand-queue", "aria-live": "polite" });
  readonly hands = new Map<string, Hand>();
  private timer = setInterval(() => this.paint(), 15000);  // the waiting times move; no server call

  constructor(private readonly classId: string, private readonly nameOf: (id: string) => string,
              private readonly roomName: (id: string | null) => string, private readonly onChange?: () => void) {}

  reset(hands: Hand[]): void {
    this.hands.clear();
    hands.forEach((hand) => this.hands.set(hand.id, hand));
    this.paint();
  }

  update(hand: Hand): void {
    if (hand.resolved_at) this.hands.delete(hand.id); else this.hands.set(hand.id, hand);
    this.paint();
  }

  raisedBy(userId: string): Hand | undefined {
    return [...this.hands.values()].find((hand) => hand.user_id === userId);
  }

  paint(): void {
    const open = [...this.hands.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    clear(this.el, open.length ? open.map((hand) => {
      const where = hand.room_id
        ? `/rooms/${hand.room_id}?` + new URLSearchParams({ ...(hand.file ? { file: hand.file } : {}),
          ...(hand.line ? { line: String(hand.line) } : {}) }).toString()
        : null;
      const resolve = h("button", { type: "button", class: "primary", "data-hand": hand.id, onclick: async () => {
        resolve.disabled = true;
        try {
          await post(`/api/classes/${this.classId}/hands/${hand.id}/resolve`);
          this.update({ ...hand, resolved_at: new Date().toISOString() });
        } catch (e) {
          resolve.disabled = false;
          if (e instanceof ApiError && e.status === 409) this.update({ ...hand, resolved_at: new Date().toISOString() });
          else alert(e instanceof Error ? e.message : String(e));
        }
      } }, "Resolve");
      return h("li", { class: "hand", "data-user": hand.user_id },
        h("div", { class: "hand-head" }, h("strong", {}, this.nameOf(hand.user_id)),
          h("span", { class: "muted small" }, ` waiting ${ago(hand.created_at)}`)),
        hand.note ? h("p", { class: "hand-note" }, `“${hand.note}”`) : null,
        h("div", { class: "hand-actions" },
          where ? h("a", { href: where, class: "button-link" },
            hand.line ? `Go to ${hand.file ?? "line"}:${hand.line}` : `Open ${this.roomName(hand.room_id)}`) : null,
          resolve));
    }) : h("li", { class: "muted" }, "No hands up."));
    this.onChange?.();
  }

  stop(): void { clearInterval(this.timer); }
}
