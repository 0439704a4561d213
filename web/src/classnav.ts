// The left navigation of a class. Students: its rooms (class home, room page). Instructors: the class's four staff
// pages, then its shared rooms — the same on every page they use, so each page is one click from the others.

import { ClassInfo } from "./api";
import { h } from "./dom";

const KIND_LABEL: Record<string, string> = { pair: "pair", demo: "demo", solo: "solo", group: "group" };

export function classNav(info: ClassInfo, currentRoom?: string): HTMLElement {
  return h("div", { class: "nav-inner" },
    h("a", { class: "nav-class", href: `/classes/${info.id}` }, info.name),
    roomList(navRooms(info), currentRoom));
}

export type StaffPage = "manage" | "grid" | "dashboard" | "gradebook";
const STAFF_PAGES: [StaffPage, string, string][] = [
  ["manage", "", "Manage"], ["grid", "/grid", "Live grid"], ["dashboard", "/dashboard", "Dashboard"],
  ["gradebook", "/gradebook", "Gradebook"],
];

export interface NavRoom { id: string; name: string; kind: string }

/** An instructor's navigation: Manage, Live grid, Dashboard, Gradebook, then the rooms that are not personal (a
 *  student's own room is reached from the roster or the grid, or the list would grow with the class). */
export function staffNav(classId: string, className: string, current: StaffPage | null, rooms: NavRoom[],
  currentRoom?: string): HTMLElement {
  const base = `/classes/${encodeURIComponent(classId)}`;
  return h("div", { class: "nav-inner" },
    h("a", { class: "nav-class", href: base }, className),
    h("ul", { class: "nav-list", "aria-label": "Teaching" }, STAFF_PAGES.map(([page, path, label]) =>
      h("li", {}, h("a", { href: base + path, "aria-current": page === current ? "page" : false }, label)))),
    roomList(rooms.filter((r) => r.kind !== "personal"), currentRoom));
}

function roomList(rooms: NavRoom[], currentRoom?: string): HTMLElement[] {
  if (!rooms.length) return [];
  return [
    h("h2", { class: "nav-title", id: "nav-rooms" }, "Rooms"),
    h("ul", { class: "nav-list", "aria-labelledby": "nav-rooms" }, rooms.map((r) =>
      h("li", {}, h("a", {
        href: `/rooms/${r.id}`, "aria-current": r.id === currentRoom ? "page" : false,
      }, r.name, " ", h("span", { class: "badge" }, KIND_LABEL[r.kind] ?? r.kind))))),
  ];
}

/** The rooms of a class info as the navigation lists them. */
export function navRooms(info: ClassInfo): NavRoom[] {
  return info.rooms.map((r) => ({ id: String(r.id), name: r.name, kind: r.kind }));
}
