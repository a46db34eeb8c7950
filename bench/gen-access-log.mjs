#!/usr/bin/env node
// Writes a deterministic Apache combined log to stdout: node bench/gen-access-log.mjs [lines] [seed]
// Client addresses and pages follow a skewed distribution (a few busy ones, a long tail); statuses are
// mostly 200 with 304, 404 and 500. Used by the tests (test/fixtures/access.log), the demo and benchmarks.
const lines = Number(process.argv[2] ?? 3000);
let seed = Number(process.argv[3] ?? 47);
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const skewed = (n) => Math.floor(n * rand() ** 2.5);

const clients = Array.from({ length: 60 }, (_, i) => (i < 40 ? `10.0.${Math.floor(i / 10)}.${200 + i}` : `192.168.1.${i}`));
const pages = [
  '/',
  '/index.html',
  '/about.html',
  '/products/widgets',
  '/products/gadgets',
  '/login',
  '/static/site.css',
  '/static/app.js',
  '/favicon.ico',
  '/images/logo.png',
  '/search',
  '/Cart/View',
  '/api/v1/items;jsessionid=ab12',
  '/blog/2025/05/totals',
  '/very/long/path/that/goes/on/and/on/beyond/thirty/two/characters.html',
  '/docs/index.html',
];
const agents = ['Mozilla/5.0 (X11; Linux x86_64)', 'curl/8.5.0', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)'];
const methods = ['GET', 'GET', 'GET', 'GET', 'POST', 'HEAD'];
const statusOf = (r) => (r < 0.7 ? 200 : r < 0.85 ? 304 : r < 0.95 ? 404 : 500);
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const start = Date.UTC(2025, 4, 18, 5, 0, 0);
const out = [];
for (let i = 0; i < lines; i++) {
  const t = new Date(start + i * 1000);
  const stamp = `${String(t.getUTCDate()).padStart(2, '0')}/${months[t.getUTCMonth()]}/${t.getUTCFullYear()}:${t.toISOString().slice(11, 19)} +0000`;
  const status = statusOf(rand());
  const q = rand() < 0.1 ? '?q=' + Math.floor(rand() * 100) : '';
  out.push(
    `${clients[skewed(clients.length)]} - - [${stamp}] "${methods[skewed(methods.length)]} ${pages[skewed(pages.length)]}${q} HTTP/1.1" ${status} ${status === 304 ? 0 : 200 + Math.floor(rand() * 5000)} "-" "${agents[skewed(agents.length)]}"`,
  );
}
process.stdout.write(out.join('\n') + '\n');
