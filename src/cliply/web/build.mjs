// Bundles Cliply Studio's front end with esbuild (npm run build, from the repo root).
// Entries: frontend/app.js and app.css (every page) and each frontend/pages/NAME.js
// (loaded by the page that needs it) -> static/dist/NAME.js. Minified ES modules with shared
// chunks; nothing is fetched at run time.
import * as esbuild from "esbuild";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "frontend");
const out = join(here, "static", "dist");
const entryPoints = { app: join(src, "app.js"), "app-style": join(src, "app.css") };
for (const f of readdirSync(join(src, "pages"))) {
  if (f.endsWith(".js")) entryPoints[f.slice(0, -3)] = join(src, "pages", f);
}
rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints,
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  target: ["es2020"],
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});
// app-style.css -> app.css (a CSS entry named like the JS one would collide)
const { renameSync, existsSync } = await import("node:fs");
if (existsSync(join(out, "app-style.css"))) renameSync(join(out, "app-style.css"), join(out, "app.css"));
if (existsSync(join(out, "app-style.js"))) rmSync(join(out, "app-style.js"));
writeFileSync(join(out, "meta.json"), JSON.stringify(result.metafile));
let lines = [];
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".map") || file.endsWith(".LEGAL.txt")) continue;
  const name = file.replace(/^.*static\/dist\//, "").replace("app-style.css", "app.css");
  if (name === "app-style.js") continue;
  const gz = gzipSync(readFileSync(join(out, name))).length;
  lines.push(`${name.padEnd(40)} ${String(info.bytes).padStart(8)} B  ${String(gz).padStart(7)} B gz`);
}
console.log(lines.sort().join("\n"));
