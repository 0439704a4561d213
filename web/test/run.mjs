// Runs the front end's unit tests (test/*.test.ts: pure functions, no DOM) with node:test, bundled by esbuild.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const out = mkdtempSync(path.join(tmpdir(), "classroom-web-test-"));
try {
  const entries = readdirSync(here).filter((f) => f.endsWith(".test.ts")).map((f) => path.join(here, f));
  await esbuild.build({
    entryPoints: entries, outdir: out, bundle: true, format: "esm", platform: "node",
    outExtension: { ".js": ".mjs" }, logLevel: "warning",
  });
  const files = readdirSync(out).map((f) => path.join(out, f));
  const run = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
