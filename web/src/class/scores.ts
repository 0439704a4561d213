// A student's own scores on the class page: best per exercise out of its points, and how many checks it took.

import { get, Gradebook } from "../api";
import { h } from "../dom";

export async function myScores(classId: string): Promise<HTMLElement | null> {
  let book: Gradebook;
  try {
    book = await get<Gradebook>(`/api/classes/${encodeURIComponent(classId)}/grades/me`);
  } catch {
    return null;
  }
  const me = book.students[0];
  if (!me || !book.exercises.length) return null;
  const fmt = (n: number | null) => n == null ? "–" : Number.isInteger(n) ? String(n) : n.toFixed(1);
  return h("section", { class: "card", "aria-labelledby": "scores-title", id: "my-scores" },
    h("h2", { id: "scores-title" }, "My scores"),
    h("table", { class: "data" }, h("tbody", {}, book.exercises.map((e, i) => {
      const c = me.cells[i];
      return h("tr", {}, h("th", { scope: "row" }, e.title),
        h("td", { class: `num${c.best != null && c.best >= e.points ? " pass" : ""}` }, `${fmt(c.best)} / ${e.points}`),
        h("td", { class: "muted small" }, c.attempts ? `${c.attempts} check${c.attempts === 1 ? "" : "s"}` : "not checked"));
    }))),
    h("p", { class: "small", id: "my-total" },
      h("strong", {}, `Total: ${fmt(me.total)} / ${fmt(book.exercises.reduce((n, e) => n + e.points, 0))}`)));
}
