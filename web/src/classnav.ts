// The left navigation of a class: its rooms and lessons. Shared by the class home and the room page.

import { ClassInfo } from "./api";
import { h } from "./dom";

const KIND_LABEL: Record<string, string> = { pair: "pair", demo: "demo", solo: "solo", group: "group" };

export function classNav(info: ClassInfo, currentRoom?: string): HTMLElement {
  return h("div", { class: "nav-inner" },
    h("a", { class: "nav-class", href: `/classes/${info.id}` }, info.name),
    h("h2", { class: "nav-title", id: "nav-rooms" }, "Rooms"),
    h("ul", { class: "nav-list", "aria-labelledby": "nav-rooms" }, info.rooms.map((r) =>
      h("li", {}, h("a", {
        href: `/rooms/${r.id}`, "aria-current": String(r.id) === currentRoom ? "page" : false,
      }, r.name, " ", h("span", { class: "badge" }, KIND_LABEL[r.kind] ?? r.kind))))),
  );
}
