// "/classes/{id}": the class home — its rooms, lessons and who is online (refreshed every 15 s).

import { ApiError, ClassInfo, get, Lesson, LessonRef } from "../api";
import { $, clear, h } from "../dom";
import { classNav } from "../classnav";
import { renderMarkdown } from "../room/markdown";
import { boot, fatal, nav, requireUser, setTitle } from "../shell";

const classId = decodeURIComponent(location.pathname.split("/")[2] ?? "");

function onlineList(info: ClassInfo): HTMLElement {
  return h("ul", { class: "people" }, info.online.length
    ? info.online.map((p) => h("li", {}, h("span", { class: "dot", "aria-hidden": "true" }), p.display_name))
    : h("li", { class: "muted" }, "Nobody else is online yet."));
}

/** A lesson title that unfolds into the lesson's text (fetched the first time it opens). */
function lessonItem(course: string | null | undefined, lesson: LessonRef): HTMLElement {
  if (!course) return h("li", {}, lesson.title);
  const body = h("div", { class: "prose" }, h("p", { class: "muted" }, "Loading…"));
  const details = h("details", {}, h("summary", {}, lesson.title), body);
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "1";
    try {
      const full = await get<Lesson>(`/api/lessons/${encodeURIComponent(course)}/${encodeURIComponent(lesson.slug)}`);
      body.innerHTML = full.html ?? renderMarkdown(full.body ?? "");
    } catch (e) {
      body.textContent = e instanceof Error ? e.message : String(e);
      delete details.dataset.loaded;
    }
  });
  return h("li", {}, details);
}

boot(async () => {
  await requireUser();
  let info: ClassInfo;
  try {
    info = await get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      fatal("This class does not exist or you are not a member of it.");
      return;
    }
    throw e;
  }
  setTitle(info.name);
  nav(classNav(info));
  const online = h("section", { class: "card", "aria-labelledby": "online-title" },
    h("h2", { id: "online-title" }, "Online now"), onlineList(info));
  clear($("#main"), h("div", { class: "page" },
    h("header", { class: "page-head" }, h("h1", {}, info.name),
      info.join_code ? h("p", { class: "join-code" }, "Class code: ", h("strong", {}, info.join_code)) : null),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "rooms-title" },
        h("h2", { id: "rooms-title" }, "Rooms"),
        info.rooms.length
          ? h("ul", { class: "list" }, info.rooms.map((r) => h("li", {},
              h("a", { href: `/rooms/${r.id}` }, r.name), " ", h("span", { class: "badge" }, r.kind))))
          : h("p", { class: "muted" }, "No rooms yet.")),
      h("section", { class: "card", "aria-labelledby": "lessons-title" },
        h("h2", { id: "lessons-title" }, "Lessons"),
        info.lessons.length
          ? h("ul", { class: "lesson-list" }, info.lessons.map((l) => lessonItem(info.course, l)))
          : h("p", { class: "muted" }, "No lessons yet.")),
      online)));
  setInterval(async () => {
    if (document.hidden) return;
    try {
      const fresh = await get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`);
      online.replaceChild(onlineList(fresh), online.lastChild as Node);
    } catch { /* keep the last list; the next tick tries again */ }
  }, 15000);
});
