// The console's HTML shell: a header, a nav filled by app.ts and the view container. Asset URLs
// carry their content hash (?v=) so browsers may keep them a year and still get each new build.

/** The page, given the hashes of the script and the stylesheet. */
export function consolePage(scriptVersion: string, styleVersion: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Milena console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css?v=${encodeURIComponent(styleVersion)}">
<script type="module" src="/console/app.js?v=${encodeURIComponent(scriptVersion)}"></script>
</head>
<body>
<header><a class="brand" href="#overview">Milena</a><nav id="nav"></nav><span id="who"></span></header>
<div id="toast" role="status" aria-live="polite"></div>
<main id="main"><p>Loading the console…</p></main>
<noscript>The Milena console needs JavaScript.</noscript>
</body>
</html>
`;
}
