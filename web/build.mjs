// Builds the page bundles into dist/: one ESM entry per page, shared code split into chunks, one stylesheet,
// and dist/manifest.json mapping each page to its hashed files (read by classroom/pages.py).
// `node build.mjs --watch` rebuilds on change.
import * as esbuild from "esbuild";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(here, "dist");
const pages = ["join", "login", "class", "room"];
const watch = process.argv.includes("--watch");

const options = {
  absWorkingDir: here,
  entryPoints: [...pages.map((p) => `src/pages/${p}.ts`), "src/app.css"],
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  entryNames: "[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  legalComments: "none",
  define: { "process.env.NODE_ENV": "\"production\"" },
  logLevel: "warning",
  plugins: [{
    name: "manifest",
    setup(build) {
      build.onEnd(async (result) => {
        if (result.errors.length || !result.metafile) return;
        const manifest = {};
        for (const [file, meta] of Object.entries(result.metafile.outputs)) {
          if (!meta.entryPoint) continue;
          const name = path.basename(meta.entryPoint).replace(/\.(ts|css)$/, "");
          const rel = path.relative(out, path.join(here, file));
          if (file.endsWith(".css")) manifest.css = rel;
          else if (file.endsWith(".js")) {
            const chunks = meta.imports.filter((i) => i.kind === "import-statement")
              .map((i) => path.relative(out, path.join(here, i.path)));
            manifest[name] = { js: rel, imports: chunks };
          }
        }
        await writeFile(path.join(out, "manifest.json"), JSON.stringify(manifest, null, 2));
        await writeFile(path.join(out, "meta.json"), JSON.stringify(result.metafile));
        console.log(`built ${Object.keys(manifest).length} entries into ${path.relative(process.cwd(), out) || "."}`);
      });
    },
  }],
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log("watching web/src ...");
} else {
  await esbuild.build(options);
}
