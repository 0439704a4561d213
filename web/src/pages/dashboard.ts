// "/classes/{id}/dashboard" (instructors): what the class is stuck on, live. Error clusters ranked with a sparkline
// of their occurrences and the students in each (a name opens their room), stuck students with the reason, each
// exercise's solved / attempted / not started and its attempts-to-solve distribution, runs per minute.
// The server pushes a snapshot over a WebSocket whenever it changes; the page never polls.

import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";
import { ApiError, ClassInfo, get, wsBase, wsToken } from "../api";
import { $, clear, h } from "../dom";
import { navRooms, staffNav } from "../classnav";
import { boot, fatal, nav, requireUser, setTitle } from "../shell";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const classId = decodeURIComponent(location.pathname.split("/")[2] ?? "");

interface Person { user_id: string; name: string; room_id: string | null }
interface Cluster { key: string; type: string; message: string; line: number | null; count: number; students: number;
  example: string; exercise: string | null; title?: string; sparkline: number[]; people: Person[] }
interface Stuck { user_id: string; name: string; exercise: string | null; title?: string; reason: string;
  last_error: string | null; last_run_at: string | null; room_id: string | null }
interface Exercise { exercise: string | null; title: string; graded: boolean; students: number; solved: number;
  not_started: number | null; runs: number; checks: number; median_attempts_to_solve: number | null;
  attempts_to_solve: { attempts: number; students: number }[] }
interface View { generated_at: string; class_size: number; totals: { runs: number; failures: number; students: number };
  timeline: { start: string; minutes: number; runs: number[] }; clusters: Cluster[]; stuck: Stuck[]; exercises: Exercise[] }

const charts: Chart[] = [];
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function chart(canvas: HTMLCanvasElement, config: any): void {
  config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...config.options };
  charts.push(new Chart(canvas, config));
}

function minuteLabels(view: View): string[] {
  const start = new Date(view.timeline.start).getTime();
  return view.timeline.runs.map((_, i) =>
    new Date(start + i * 60000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
}

function roomLink(p: { name: string; room_id: string | null }): HTMLElement {
  return p.room_id ? h("a", { href: `/rooms/${encodeURIComponent(p.room_id)}` }, p.name) : h("span", {}, p.name);
}

function clustersCard(view: View, labels: string[]): HTMLElement {
  const list = h("ol", { class: "clusters", id: "clusters" });
  for (const c of view.clusters) {
    const canvas = h("canvas", { role: "img", "aria-label": `occurrences of ${c.key} per minute` });
    list.append(h("li", { "data-key": c.key },
      h("div", { class: "cluster-head" },
        h("div", {}, h("div", { class: "cluster-key" }, `${c.type}: ${c.message}`, c.line != null ? ` (line ${c.line})` : ""),
          h("div", { class: "muted small" }, c.title ?? c.exercise ?? "", c.example ? ` · e.g. “${c.example}”` : "")),
        h("div", { class: "spark" }, canvas),
        h("span", { class: "count", title: "occurrences" }, String(c.count))),
      h("div", { class: "names" }, c.people.map(roomLink))));
    chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ data: c.sparkline, backgroundColor: css("--err"), barPercentage: 1,
        categoryPercentage: 0.9, minBarLength: 0 }] },
      options: { plugins: { tooltip: { enabled: false } }, scales: { x: { display: false }, y: { display: false, min: 0 } } },
    });
  }
  return h("section", { class: "card", "aria-labelledby": "clusters-title" },
    h("h2", { id: "clusters-title" }, "Errors, most frequent first"),
    view.clusters.length ? list : h("p", { class: "muted" }, "No errors yet."));
}

function stuckCard(view: View): HTMLElement {
  return h("section", { class: "card", "aria-labelledby": "stuck-title" },
    h("h2", { id: "stuck-title" }, `Stuck students (${view.stuck.length})`),
    view.stuck.length ? h("ul", { class: "stuck", id: "stuck" }, view.stuck.map((s) => h("li", { "data-student": s.name },
      h("div", {}, h("strong", {}, roomLink(s)), " · ", h("span", { class: "muted" }, s.title ?? s.exercise ?? "")),
      h("div", { class: "reason" }, s.reason),
      s.last_error ? h("div", { class: "muted small" }, "Last: ", s.last_error) : null)))
      : h("p", { class: "muted" }, "Nobody is stuck right now."));
}

function exercisesCard(view: View): HTMLElement {
  const items = view.exercises.filter((e) => e.exercise !== null || e.runs > 0).map((e) => {
    const bar = h("canvas", { role: "img", "aria-label": `${e.title}: ${e.solved} solved, ${e.students - e.solved} ` +
      `attempted, ${e.not_started ?? 0} not started` });
    const hist = h("canvas", { role: "img", "aria-label": `${e.title}: attempts to solve` });
    const solvedWith = e.attempts_to_solve;
    const el = h("div", { class: "exercise", "data-exercise": e.exercise ?? "" },
      h("div", {}, h("strong", {}, e.title), " ",
        h("span", { class: "small" }, h("span", { class: "k-solved" }, `${e.solved} solved`), " · ",
          h("span", { class: "k-trying" }, `${e.students - e.solved} trying`), " · ",
          h("span", { class: "k-idle" }, `${e.not_started ?? "–"} not started`)),
        h("span", { class: "muted small" }, ` · ${e.runs} runs, ${e.checks} checks` +
          (e.median_attempts_to_solve != null ? ` · median ${e.median_attempts_to_solve} attempts to solve` : ""))),
      h("div", { class: "exercise-charts" }, h("div", { class: "chart small" }, bar), h("div", { class: "chart small" }, hist)));
    chart(bar, {
      type: "bar",
      data: { labels: [""], datasets: [
        { label: "solved", data: [e.solved], backgroundColor: css("--ok") },
        { label: "attempted", data: [e.students - e.solved], backgroundColor: css("--warn") },
        { label: "not started", data: [e.not_started ?? 0], backgroundColor: css("--border") },
      ] },
      options: { indexAxis: "y", plugins: { tooltip: { enabled: true } },
        scales: { x: { stacked: true, min: 0, max: Math.max(1, view.class_size, e.students), ticks: { precision: 0 } },
          y: { stacked: true, display: false } } },
    });
    chart(hist, {
      type: "bar",
      data: { labels: solvedWith.map((b) => String(b.attempts)),
        datasets: [{ label: "students", data: solvedWith.map((b) => b.students), backgroundColor: css("--accent") }] },
      options: { scales: { x: { title: { display: true, text: "attempts to solve" } },
        y: { min: 0, ticks: { precision: 0 } } } },
    });
    return el;
  });
  return h("section", { class: "card wide", "aria-labelledby": "exercises-title" },
    h("h2", { id: "exercises-title" }, "Exercises: solved · attempted · not started, and attempts to solve"),
    h("div", { id: "exercises" }, items));
}

let lastView: View | null = null;

function render(view: View): void {
  lastView = view;
  for (const c of charts.splice(0)) c.destroy();
  const labels = minuteLabels(view);
  const timeline = h("canvas", { role: "img", "aria-label": "runs and checks per minute" });
  clear($("#board"),
    h("section", { class: "card wide", "aria-labelledby": "rpm-title" },
      h("h2", { id: "rpm-title" }, `Runs per minute · ${view.totals.runs} runs, ${view.totals.failures} failed, ` +
        `${view.totals.students} of ${view.class_size} students active`),
      h("div", { class: "chart" }, timeline)),
    clustersCard(view, labels), stuckCard(view), exercisesCard(view));
  chart(timeline, {
    type: "bar",
    data: { labels, datasets: [{ label: "runs and checks", data: view.timeline.runs, backgroundColor: css("--accent"),
      barPercentage: 1, categoryPercentage: 0.9 }] },
    options: { scales: { y: { min: 0, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 12 } } } },
  });
}

function live(status: HTMLElement): void {
  let delay = 1000;
  const connect = async () => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${wsBase()}/api/classes/${encodeURIComponent(classId)}/dashboard/live?token=` +
        encodeURIComponent(await wsToken()));
    } catch {
      setTimeout(connect, delay = Math.min(delay * 2, 30000));
      return;
    }
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "snapshot") {
        render(msg.data as View);
        status.dataset.state = "live";
        status.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
      } else if (msg.type === "unavailable") {
        status.dataset.state = "off";
        status.textContent = msg.detail;
      }
    };
    socket.onclose = (ev) => {
      status.dataset.state = "off";
      if (ev.code === 4403 || ev.code === 4404) { fatal("Only the class's instructors can open its dashboard."); return; }
      status.textContent = "Reconnecting…";
      setTimeout(connect, delay = Math.min(delay * 2, 30000));
    };
  };
  void connect();
}

boot(async () => {
  await requireUser();
  let info: ClassInfo;
  try {
    info = await get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      fatal("This class does not exist or you do not teach it.");
      return;
    }
    throw e;
  }
  setTitle(`Dashboard · ${info.name}`);
  nav(staffNav(classId, info.name, "dashboard", navRooms(info)));
  const status = h("span", { class: "live", id: "live", role: "status" }, "Connecting…");
  clear($("#main"), h("div", { class: "page" },
    h("header", { class: "page-head" }, h("h1", {}, "Dashboard"), h("span", { class: "muted" }, info.name), status,
      h("a", { href: `/classes/${encodeURIComponent(classId)}/gradebook` }, "Gradebook")),
    h("div", { class: "dash", id: "board" }, h("p", { class: "muted" }, "Waiting for the first snapshot…"))));
  document.addEventListener("themechange", () => { if (lastView) render(lastView); });  // chart colours follow
  live(status);
});
