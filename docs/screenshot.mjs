#!/usr/bin/env node
/**
 * docs/dashboard.png, as README.md shows it: `npm run docs:screenshot`. A private Redis, rkvdns, the agent with
 * config/agent.yaml fed the sample log, and `totalize serve`, photographed by Debian's chromium. So that the chart
 * has a shape, the six hours before are written straight into Redis first, bucket by bucket, as the agent would
 * have written them (each bucket a share of what the sample log gives).
 */
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { stringify } from 'yaml';
import { freePort } from '../dist/common/ports.js';
import { startProcess, stopAll } from '../dist/harness/processes.js';
import { bin, startAgent, startRkvdns } from '../dist/harness/programs.js';
import { startRedis } from '../dist/harness/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ZONE = 'rkvdns.demo.example';
const BUCKET = 900;
const dir = mkdtempSync(join(tmpdir(), 'totalizer-screenshot-'));

const redis = await startRedis({ dir });
const rkvdns = await startRkvdns(redis.url, ZONE, { config: join(root, 'config/rkvdns.yaml'), settings: { STATS: 0, DEFAULT_TTL: 5 } });
const agentPort = await freePort();
writeFileSync(
  join(dir, 'agent.yaml'),
  readFileSync(join(root, 'config/agent.yaml'), 'utf8')
    .replace('redis://127.0.0.1:6379', redis.url)
    .replace('port: 3430', `port: ${agentPort}`)
    .replace('port: 3431', `port: ${await freePort()}`)
    .replace('  # source: web1', '  source: web1'),
);
const agent = await startAgent(join(dir, 'agent.yaml'), [], 2);

// The agent's buckets of now, from the sample log.
const lines = readFileSync(join(root, 'test/fixtures/access.log'), 'latin1').split('\n').filter(Boolean);
const sock = dgram.createSocket('udp4');
for (let i = 0; i < lines.length; i += 20) {
  await new Promise((res) => sock.send(Buffer.from(lines.slice(i, i + 20).join('\n') + '\n', 'latin1'), agentPort, '127.0.0.1', res));
  if (i % 400 === 0) await new Promise((r) => setTimeout(r, 2));
}
sock.close();
await new Promise((r) => setTimeout(r, 1500));
await agent.stop();

// The hours before: each key of the current bucket again in earlier buckets, scaled by a daily-looking curve.
const keys = (await redis.client.keys('web_*')).filter((k) => !k.startsWith('totalizers;'));
const pipe = redis.client.pipeline();
for (const key of keys) {
  const fields = key.split(';');
  const start = Number(fields.at(-1));
  const value = await redis.client.get(key);
  for (let b = 1; b <= 24; b++) {
    const scale = 0.35 + 0.3 * Math.sin(b / 4) + (0.1 * ((b * 7) % 5)) / 5;
    const earlier = [...fields.slice(0, -1), String(start - b * BUCKET)].join(';');
    const parts = value.split(' ').map((v) => Math.max(0, Math.round(Number(v) * scale)));
    pipe.set(earlier, parts.join(' '), 'EX', 86400);
  }
}
await pipe.exec();

const http = await freePort();
writeFileSync(
  join(dir, 'totalize.yaml'),
  stringify({
    zone: ZONE,
    server: [`127.0.0.1:${rkvdns.port}`],
    serve: {
      listen: `127.0.0.1:${http}`,
      totalizers: [
        { prefix: 'web_client', window: '6h' },
        { prefix: 'web_bytes', window: '6h' },
      ],
    },
  }),
);
await startProcess(process.execPath, [bin('totalize'), 'serve', '--config', join(dir, 'totalize.yaml')], /the dashboard on http/);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
await page.goto(`http://127.0.0.1:${http}/`);
await page.waitForSelector('section[data-totalizer="web_bytes"] tbody tr[data-group]');
await page.waitForTimeout(500);
const out = join(root, 'docs/dashboard.png');
await page.screenshot({ path: out });
await browser.close();
await stopAll();
console.log(`wrote ${out}`);
process.exit(0);
