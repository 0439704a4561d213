// Lasting identity on the pages: a student's own return link and code (class page), an optional password, and
// the hook an instructor's roster uses to show a student's link ("Return link" button -> a dialog to show them).

import { ApiError, get, post, ReturnLink } from "./api";
import { h } from "./dom";

function linkBlock(link: ReturnLink): HTMLElement {
  const field = h("input", { class: "return-link", id: `return-link-${link.user_id}`, readonly: true, value: link.link,
    "aria-label": "Return link", onfocus: (ev: FocusEvent) => (ev.target as HTMLInputElement).select() });
  const copied = h("span", { class: "muted small", role: "status" });
  return h("div", { class: "return-block" },
    h("div", { class: "return-row" }, field,
      h("button", { type: "button", onclick: async () => {
        try { await navigator.clipboard.writeText(link.link); copied.textContent = "Copied."; }
        catch { field.select(); copied.textContent = "Press Ctrl+C to copy."; }
      } }, "Copy"), copied),
    h("p", {}, "Return code: ", h("strong", { class: "return-code", id: "return-code" }, link.code)));
}

/** The signed-in student's card: their link and code, and an optional password. */
export async function myReturnCard(): Promise<HTMLElement | null> {
  let link: ReturnLink;
  try {
    link = await get<ReturnLink>("/api/me/return-link");
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return null; // instructors sign in with a password
    throw e;
  }
  return h("section", { class: "card", id: "return-card", "aria-labelledby": "return-title" },
    h("h2", { id: "return-title" }, "Come back as you"),
    h("p", { class: "small" }, "On another computer (or after clearing this browser), open your return link — or join " +
      "with the class code, your name and this return code — to get your rooms and code back. Keep it to yourself."),
    linkBlock(link), passwordForm());
}

function passwordForm(): HTMLElement {
  const input = h("input", { type: "password", id: "new-password", autocomplete: "new-password", minlength: "8" });
  const current = h("input", { type: "password", id: "current-password", autocomplete: "current-password" });
  const said = h("p", { class: "small", role: "status" });
  const form = h("form", { class: "password-form" },
    h("label", { for: "new-password" }, "New password (at least 8 characters)"), input,
    h("label", { for: "current-password" }, "Current password (only to change one you set)"), current,
    h("button", { type: "submit" }, "Save password"), said);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await post("/api/me/password", { password: input.value, current_password: current.value || null });
      said.textContent = "Saved: your name and this password also get you back in.";
      input.value = current.value = "";
    } catch (e) {
      said.textContent = e instanceof Error ? e.message : String(e);
    }
  });
  return h("details", { class: "password" }, h("summary", {}, "Or set a password (optional)"), form);
}

/** For an instructor's roster: a button that shows a student's return link and code in a dialog. */
export function returnLinkButton(classId: string, userId: string, name: string): HTMLButtonElement {
  return h("button", { type: "button", class: "link", "data-return-link": userId, onclick: async () => {
    const dialog = h("dialog", { class: "card return-dialog", "aria-label": `Return link of ${name}` },
      h("h2", {}, `${name}'s return link`), h("p", { class: "muted" }, "Loading…"));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    try {
      const link = await get<ReturnLink>(
        `/api/classes/${encodeURIComponent(classId)}/students/${encodeURIComponent(userId)}/return-link`);
      dialog.replaceChildren(h("h2", {}, `${name}'s return link`),
        h("p", { class: "small" }, `Show this to ${name}: opening the link, or joining as "${name}" with the code, ` +
          "signs them back into their account."), linkBlock(link),
        h("button", { type: "button", onclick: () => dialog.close() }, "Close"));
    } catch (e) {
      dialog.replaceChildren(h("p", { class: "form-error" }, e instanceof Error ? e.message : String(e)),
        h("button", { type: "button", onclick: () => dialog.close() }, "Close"));
    }
  } }, "Return link");
}
