// "/classes/{id}/gradebook" (instructors): per student and exercise, the best score, the checks made and when
// every point was first earned; the CSV download has the same rows.

import { ApiError, ClassInfo, get, Gradebook } from "../api";
import { $, clear, h } from "../dom";
import { navRooms, staffNav } from "../classnav";
import { boot, fatal, nav, requireUser, setTitle } from "../shell";

const classId = decodeURIComponent(location.pathname.split("/")[2] ?? "");
const fmt = (n: number | null) => n == null ? "–" : Number.isInteger(n) ? String(n) : n.toFixed(1);
const time = (iso: string | null) => iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";

boot(async () => {
  await requireUser();
  let info: ClassInfo, book: Gradebook;
  try {
    [info, book] = await Promise.all([
      get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`),
      get<Gradebook>(`/api/classes/${encodeURIComponent(classId)}/gradebook`),
    ]);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      fatal("Only the class's instructors can open its gradebook.");
      return;
    }
    throw e;
  }
  setTitle(`Gradebook · ${info.name}`);
  nav(staffNav(classId, info.name, "gradebook", navRooms(info)));
  const max = book.exercises.reduce((n, e) => n + e.points, 0);
  clear($("#main"), h("div", { class: "page" },
    h("header", { class: "page-head" }, h("h1", {}, "Gradebook"), h("span", { class: "muted" }, info.name)),
    h("div", { class: "toolbar" },
      h("a", { class: "button", id: "csv", href: `/api/classes/${encodeURIComponent(classId)}/gradebook.csv`,
        download: "" }, "Download CSV"),
      h("a", { href: `/classes/${encodeURIComponent(classId)}/dashboard` }, "Dashboard"),
      h("span", { class: "muted small" }, "Best score per exercise (checks made · time every point was first earned).")),
    book.students.length === 0 ? h("p", { class: "muted" }, "No students have joined yet.") :
    h("div", { class: "table-wrap card" }, h("table", { class: "data", id: "gradebook" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Student"),
        book.exercises.map((e) => h("th", { scope: "col", class: "num", title: e.id }, e.title, h("br"),
          h("span", { class: "muted small" }, `of ${e.points}`))),
        h("th", { scope: "col", class: "num" }, "Total", h("br"), h("span", { class: "muted small" }, `of ${max}`)))),
      h("tbody", {}, book.students.map((s) => h("tr", { "data-student": s.name },
        h("th", { scope: "row" }, s.name),
        s.cells.map((c, i) => {
          const full = c.best != null && c.best >= book.exercises[i].points;
          return h("td", { class: `num${full ? " pass" : ""}` }, fmt(c.best),
            c.attempts ? h("div", { class: "muted small" },
              `${c.attempts} check${c.attempts === 1 ? "" : "s"}${c.first_pass_at ? " · ✓ " + time(c.first_pass_at) : ""}`)
              : null);
        }),
        h("td", { class: "num" }, h("strong", {}, fmt(s.total))))))))));
});
