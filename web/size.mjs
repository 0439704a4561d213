// Prints the gzipped JavaScript and CSS each page loads (its entry plus every chunk it imports, transitively),
// from dist/meta.json written by build.mjs. Exits non-zero when the room page exceeds its budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const BUDGET_KB = { room: 150, join: 150, login: 150, class: 150, grid: 150, gradebook: 150, dashboard: 150 };
const meta = JSON.parse(readFileSync(path.join(here, "dist/meta.json"), "utf8"));
const gz = (file) => gzipSync(readFileSync(path.join(here, file)), { level: 9 }).length;

function closure(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const i of meta.outputs[file].imports) if (i.kind === "import-statement") closure(i.path, seen);
  return seen;
}

let failed = false;
const cssFile = Object.keys(meta.outputs).find((f) => f.endsWith(".css"));
const cssKb = cssFile ? gz(cssFile) / 1024 : 0;
console.log("page     js (gzip)   css (gzip)   budget (js)");
for (const [file, out] of Object.entries(meta.outputs)) {
  if (!out.entryPoint || !file.endsWith(".js")) continue;
  const page = path.basename(out.entryPoint, ".ts");
  const kb = [...closure(file)].reduce((n, f) => n + gz(f), 0) / 1024;
  const over = kb > BUDGET_KB[page];
  failed ||= over;
  console.log(`${page.padEnd(8)} ${kb.toFixed(1).padStart(7)} KB  ${cssKb.toFixed(1).padStart(7)} KB   ` +
    `${BUDGET_KB[page]} KB${over ? "  OVER BUDGET" : ""}`);
}
process.exit(failed ? 1 : 0);
