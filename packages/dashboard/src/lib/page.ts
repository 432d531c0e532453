/**
 * The dashboard page: one HTML document, one stylesheet and one script, no build step and no
 * framework. The script opens the SSE stream and redraws on every `state` event; the JSON
 * endpoint carries the same data for scripts and tests.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header><h1>Switchyard</h1><span id="status" data-status="connecting">connecting…</span></header>
<main id="services"></main>
<section><h2>Recent events</h2><ol id="events"></ol></section>
<script src="app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.4rem; margin: .5rem 0; } h2 { font-size: 1.1rem; margin: 1rem 0 .4rem; }
#status { color: #6b7280; } #status[data-status="live"] { color: #15803d; }
.service { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: .6rem 1rem; margin: .8rem 0; }
.service h2 { margin: .2rem 0 .5rem; } .meta { color: #6b7280; font-weight: normal; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #f0f1f3; white-space: nowrap; }
th { color: #6b7280; font-weight: 600; font-size: .8rem; text-transform: uppercase; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem; }
.badge.routable { background: #dcfce7; color: #166534; } .badge.ejected, .badge.unhealthy, .badge.breakerOpen { background: #fee2e2; color: #991b1b; }
.badge.halfOpen, .badge.draining { background: #fef9c3; color: #854d0e; }
.bar { display: inline-block; height: .6rem; background: #3b82f6; border-radius: 2px; vertical-align: middle; margin-right: .3rem; }
svg { vertical-align: middle; } polyline { fill: none; stroke: #3b82f6; stroke-width: 1.5; }
#events { list-style: none; padding: 0; font-family: ui-monospace, monospace; font-size: .85rem; }
#events li { padding: .1rem 0; } .ev-ejected, .ev-breakerOpen, .ev-unhealthy, .ev-registryStale, .ev-panic { color: #991b1b; }
`;

export const PAGE_JS = `
'use strict';
const services = document.getElementById('services');
const eventsList = document.getElementById('events');
const status = document.getElementById('status');
const ms = (v) => (v === undefined || v === null ? '–' : v < 10 ? v.toFixed(1) + ' ms' : Math.round(v) + ' ms');
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function spark(series) {
  const max = Math.max(1, ...series);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', '120'); svg.setAttribute('height', '24');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', series.map((v, i) => (i * 2) + ',' + (22 - (v / max) * 20).toFixed(1)).join(' '));
  svg.append(line);
  return svg;
}
function render(state) {
  services.replaceChildren(...state.services.map((service) => {
    const rows = service.instances.map((i) => el('tr', { 'data-instance': i.id, 'data-state': i.state, 'data-share': i.share.toFixed(4) },
      el('td', {}, i.id, el('div', { class: 'meta' }, i.address)),
      el('td', {}, i.zone || '–'),
      el('td', {}, el('span', { class: 'badge ' + i.state }, i.state)),
      el('td', {}, i.breaker),
      el('td', {}, i.inflight),
      el('td', {}, el('span', { class: 'bar', style: 'width:' + Math.round(i.share * 80) + 'px' }), (i.share * 100).toFixed(1) + ' %'),
      el('td', {}, i.requests), el('td', {}, i.errors), el('td', {}, ms(i.p50Ms)), el('td', {}, ms(i.p99Ms)),
      el('td', {}, spark(i.series))));
    return el('article', { class: 'service', 'data-service': service.service },
      el('h2', {}, service.service, ' ', el('span', { class: 'meta' }, 'balancer ' + service.balancer + (service.panic ? ' · PANIC: routing to all' : ''))),
      el('table', {}, el('thead', {}, el('tr', {}, ...['instance', 'zone', 'state', 'breaker', 'in flight', 'share (1 min)', 'requests', 'errors', 'p50', 'p99', 'last minute'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...rows)));
  }));
  eventsList.replaceChildren(...state.events.slice(-30).reverse().map((e) =>
    el('li', { class: 'ev-' + e.name, 'data-event': e.name }, new Date(e.at).toLocaleTimeString() + '  ' + e.name + '  ' + [e.service, e.instanceId].filter(Boolean).join('/') + (e.detail ? '  ' + e.detail : ''))));
}
const stream = new EventSource('events');
stream.addEventListener('state', (event) => { status.textContent = 'live'; status.dataset.status = 'live'; render(JSON.parse(event.data)); });
stream.onerror = () => { status.textContent = 'reconnecting…'; status.dataset.status = 'reconnecting'; };
`;
