// Bundles the console for browsers with esbuild: src/console/app.ts (with Milena's browser client
// and uPlot) into app.js, and console.css (with uPlot's stylesheet) into console.css, both with
// source maps, into dist/console/ (generated, gitignored; `make console` runs this, `make run` and
// `make test` depend on it). Run: node --import tsx src/console/build.ts [outDir]

import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { CONSOLE_BUNDLE_DIR } from "./serve.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

export async function buildConsole(outDir: string = CONSOLE_BUNDLE_DIR): Promise<void> {
  await esbuild.build({
    entryPoints: { app: `${HERE}app.ts`, console: `${HERE}console.css` },
    outdir: outDir,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: true,
    legalComments: "eof",
    logLevel: "warning",
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await buildConsole(process.argv[2]);
