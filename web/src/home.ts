// "/" for an instructor: their classes (open and archived), create a class, archive or bring one back.

import { ApiError, api, Me, me, post } from "./api";
import { $, clear, h } from "./dom";
import { takeNotice } from "./channel";
import { setTitle } from "./shell";

export async function instructorHome(who: Me): Promise<void> {
  setTitle("Your classes");
  const notice = takeNotice();
  const error = h("p", { class: "form-error", role: "alert", id: "create-error" });
  const name = h("input", { id: "class-name", name: "name", required: true, maxlength: "120", placeholder: "Year 9 Python" });
  const button = h("button", { type: "submit", class: "primary" }, "Create class");
  const form = h("form", { class: "card", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "New class"),
    h("label", { for: "class-name" }, "Class name"), name, error, button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      const made = await post<{ id: string }>("/api/classes", { name: name.value.trim() });
      location.href = `/classes/${made.id}`;
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
      button.disabled = false;
    }
  });
  const list = h("ul", { class: "class-list", id: "my-classes" });
  const archived = h("ul", { class: "class-list", id: "archived-classes" });
  async function paint(current: Me): Promise<void> {
    const teaching = current.classes.filter((c) => c.role !== "student");
    const row = (c: (typeof teaching)[number]) => {
      const archivedNow = Boolean((c as { archived?: boolean }).archived);
      return h("li", { class: "class-row", "data-class": String(c.id) },
        archivedNow ? h("span", {}, c.name) : h("a", { href: `/classes/${c.id}` }, c.name),
        archivedNow ? null : h("a", { href: `/classes/${c.id}/grid`, class: "small" }, "Live grid"),
        h("button", { type: "button", class: "link", onclick: async () => {
          try {
            await api("PATCH", `/api/classes/${c.id}`, { archived: !archivedNow });
            const fresh = await me();
            if (fresh) await paint(fresh);
          } catch (e) {
            alert(e instanceof ApiError || e instanceof Error ? e.message : String(e));
          }
        } }, archivedNow ? "Bring back" : "Archive"));
    };
    const open = teaching.filter((c) => !(c as { archived?: boolean }).archived);
    const old = teaching.filter((c) => (c as { archived?: boolean }).archived);
    clear(list, open.length ? open.map(row) : h("li", { class: "muted" }, "No classes yet: create your first one."));
    clear(archived, old.length ? old.map(row) : h("li", { class: "muted" }, "None."));
  }
  await paint(who);
  clear($("#main"), h("div", { class: "page home" },
    h("header", { class: "page-head" }, h("h1", {}, `Hello, ${who.user.display_name}`)),
    notice ? h("p", { class: "banner", role: "status" }, notice) : null,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "classes-title" }, h("h2", { id: "classes-title" }, "Your classes"), list,
        h("details", {}, h("summary", {}, "Archived classes"), archived)),
      form)));
}
