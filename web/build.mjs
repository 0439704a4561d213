// Builds the page bundles into dist/: one ESM entry per page, shared code split into chunks, one stylesheet,
// and dist/manifest.json mapping each page to its hashed files (read by classroom/pages.py). Every .js and .css
// is also written precompressed (.gz, .br) for classroom/assets.py to serve by Accept-Encoding; source maps are
// external files without a sourceMappingURL comment (served only with CLASSROOM_SOURCE_MAPS=true).
// `node build.mjs --watch` rebuilds on change.
import * as esbuild from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/** file.gz and file.br beside each built script and stylesheet (made once here, never per request). */
async function precompress(files) {
  await Promise.all(files.filter((f) => /\.(js|css)$/.test(f)).map(async (file) => {
    const data = await readFile(file);
    await writeFile(file + ".gz", await gzip(data, { level: 9 }));
    await writeFile(file + ".br", await brotli(data, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    }));
  }));
}

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(here, "dist");
const pages = ["join", "login", "class", "grid", "room", "gradebook", "dashboard"];
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
  sourcemap: "external",
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
        await precompress(Object.keys(result.metafile.outputs).map((f) => path.join(here, f)));
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
