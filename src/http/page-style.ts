// The status pages' one style sheet, inline (no external assets): light and dark (prefers-color-scheme),
// values that never wrap, and tables that become stacked cards at a phone's width.
export const PAGE_STYLE = `
:root{--bg:#fff;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--link:#0a58ca;--err-bg:#fff0f0;--err:#b3261e;--warn-bg:#fff8c5;--warn:#5c4400;--ok:#1a7f37;--grid:#e3e3e3;--track:#fafafa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9ea7b3;--line:#30363d;--soft:#161b22;--link:#6cb6ff;--err-bg:#3b1519;--err:#ff9a92;--warn-bg:#3a2d00;--warn:#f2cc60;--ok:#56d364;--grid:#2a3038;--track:#161b22}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:1em 1.25em 2em;max-width:1500px;background:var(--bg);color:var(--fg)}
a{color:var(--link)} h1{font-size:1.35em;margin:.2em 0} h2{font-size:1.1em;margin:1.4em 0 .5em}
.meta,.muted,.desc,.msg,.utc{color:var(--muted)} .desc,.msg{font-size:.92em}
.nowrap,time,.state,.num{white-space:nowrap}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);padding:.6em .8em;margin:.3em 0;white-space:pre-wrap;overflow-wrap:anywhere;max-height:28em;overflow:auto}
.summary{display:flex;flex-wrap:wrap;gap:.5em;margin:.8em 0 1em;padding:0;list-style:none}
.summary li{flex:1 1 9.5em}
.summary a{display:block;padding:.55em .8em;border:1px solid var(--line);border-radius:6px;background:var(--soft);text-decoration:none;color:var(--fg)}
.summary a:hover,.summary a:focus{border-color:var(--link)}
.summary .count{display:block;font-size:1.5em;font-weight:650;line-height:1.2}
.summary .bad .count{color:var(--err)} .summary .label{color:var(--muted);font-size:.9em}
.summary a[aria-current]{outline:2px solid var(--link)}
.tools{display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:center;margin:.6em 0}
.tools form{display:flex;gap:.4em;flex-wrap:wrap}
input[type=search]{font:inherit;padding:.3em .5em;min-width:14em;max-width:100%;background:var(--bg);color:var(--fg);border:1px solid var(--muted);border-radius:4px}
button{font:inherit;padding:.3em .8em;background:var(--soft);color:var(--fg);border:1px solid var(--muted);border-radius:4px;cursor:pointer}
.ranges a{margin-right:.6em} .ranges a[aria-current]{font-weight:650;color:var(--fg)}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.9em;white-space:nowrap}
.id{font-weight:600;overflow-wrap:anywhere} .id a{color:var(--fg)}
.state i{display:inline-block;width:.7em;height:.7em;border-radius:2px;margin-right:.35em;vertical-align:-.02em}
.paused{color:var(--warn);font-size:.92em}
.broken{background:var(--warn-bg);color:var(--warn);border-radius:4px;padding:.25em .5em;margin-top:.3em;font-size:.9em;overflow-wrap:anywhere}
.backfill{margin:.5em 0;padding:.4em .6em;border-left:3px solid var(--link);background:var(--soft)}
.errors{background:var(--err-bg);border:1px solid var(--err);border-radius:6px;padding:.6em 1em;margin:.8em 0}
.errors pre{background:transparent;border:0;padding:0}
.stale{color:var(--err);font-weight:600}
.timeline{display:block;width:100%;max-width:720px;height:22px}
.timeline .track{fill:var(--track)} .timeline .grid{stroke:var(--grid)}
.axis{display:flex;justify-content:space-between;max-width:720px;color:var(--muted);font-size:.8em}
.legend span{margin-right:.9em;font-size:.85em;white-space:nowrap} .legend i{display:inline-block;width:.8em;height:.8em;margin-right:.25em;vertical-align:-1px;border-radius:2px}
.pages{display:flex;gap:1em;align-items:center;margin:.8em 0}
.disabled{opacity:.7}
.scroll{overflow-x:auto;max-width:100%} #next-fires{width:auto}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em;margin:.5em 0} dl.facts dt{color:var(--muted)} dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (min-width:900px){.overview{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 2.5em}}
tr.detail td{border-bottom:1px solid var(--line);padding-top:0}
details summary{cursor:pointer;color:var(--link)}
@media (max-width:760px){
  body{padding:.75em .75em 2em}
  table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
  table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  table.cards tr{border:1px solid var(--line);border-radius:6px;margin:0 0 .7em;padding:.3em .2em}
  table.cards td{border:0;padding:.2em .5em}
  table.cards td[data-label]::before{content:attr(data-label);display:inline-block;min-width:6.5em;color:var(--muted);font-size:.85em}
  table.cards tr.detail{margin-top:-.6em;border-top:0}
  input[type=search]{min-width:0;flex:1 1 10em}
}`;
