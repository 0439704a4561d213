// Follow-me on a student's page: when the instructor starts it, every student page of the class moves to the
// followed room (remembering where it was); ending it returns each page there. A student may step out ("Stop
// following") and back in. State lives in sessionStorage: it belongs to this tab.

import { h } from "./dom";

const RETURN = "classroom:follow:return";
const STOPPED = "classroom:follow:stopped";

export interface FollowState { room_id: string; by?: string }

function roomUrl(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}?follow=1`;
}

function here(): string {
  return location.pathname + location.search;
}

/** React to the class's follow-me state (from the snapshot or an event). Students only. */
export function applyFollow(
  follow: FollowState | null, onBanner: (el: HTMLElement | null) => void, classPage: string,
): void {
  if (!follow) {
    sessionStorage.removeItem(STOPPED);
    const back = sessionStorage.getItem(RETURN);
    sessionStorage.removeItem(RETURN);
    onBanner(null);
    if (back && new URLSearchParams(location.search).get("follow") === "1") location.href = back;
    return;
  }
  const target = `/rooms/${follow.room_id}`;
  if (location.pathname === target) {
    onBanner(followingBanner(follow.room_id, classPage));
    return;
  }
  if (sessionStorage.getItem(STOPPED) === follow.room_id) {
    onBanner(h("p", { class: "banner follow", role: "status" }, "Your teacher is presenting. ",
      h("button", { type: "button", class: "primary", id: "follow-again", onclick: () => {
        sessionStorage.removeItem(STOPPED);
        sessionStorage.setItem(RETURN, here());
        location.href = roomUrl(follow.room_id);
      } }, "Follow")));
    return;
  }
  if (!sessionStorage.getItem(RETURN)) sessionStorage.setItem(RETURN, here());
  location.href = roomUrl(follow.room_id);
}

function followingBanner(roomId: string, classPage: string): HTMLElement {
  return h("p", { class: "banner follow", role: "status", id: "following" }, "You are following your teacher. ",
    h("button", { type: "button", id: "stop-following", onclick: () => {
      sessionStorage.setItem(STOPPED, roomId);
      const back = sessionStorage.getItem(RETURN);
      sessionStorage.removeItem(RETURN);
      location.href = back && !back.startsWith(`/rooms/${roomId}`) ? back : classPage;
    } }, "Stop following"));
}
