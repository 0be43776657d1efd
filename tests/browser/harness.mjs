// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared machinery of the browser tests: a meshcall-server, headless Chromium
// pages (Debian's /usr/bin/chromium through playwright-core) and
// meshcall-test-peer pipelines, all children of this process and stopped by
// PID. Runs inside tests/netns-run.sh --veth, so 10.77.0.1 exists and nothing
// leaves the namespace.
//
// Waiting is always polling a condition with a deadline, never a bare sleep.
//
// meson test -C BUILD --suite browser runs them all (tests/browser/meson.build).
// One file by hand, as root:
//   MESHCALL_BUILD_ROOT=$PWD/build tests/netns-run.sh --veth \
//     node --test tests/browser/chat.test.mjs
// MESHCALL_TEST_VERBOSE=1 streams every log line (server, pages' consoles,
// test peers) to stderr; MESHCALL_CHROMIUM overrides /usr/bin/chromium.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

export const HOST = '10.77.0.1';
const here = path.dirname(fileURLToPath(import.meta.url));
export const buildRoot = path.resolve(process.env.MESHCALL_BUILD_ROOT ?? path.join(here, '../../build'));
const serverPath = path.join(buildRoot, 'src/server/meshcall-server');
const testPeerPath = path.join(buildRoot, 'tests/browser/meshcall-test-peer');
export const artifactDir = path.join(buildRoot, 'tests/browser');
const chromiumPath = process.env.MESHCALL_CHROMIUM ?? '/usr/bin/chromium';
const verbose = !!process.env.MESHCALL_TEST_VERBOSE;

const skipReason = existsSync(path.join(here, 'node_modules/playwright-core/package.json'))
  ? null
  : `${here}/node_modules is missing: run 'npm ci --prefix tests/browser'`;
const { chromium } = skipReason ? {} : await import('playwright-core');

// ---- children: every process we start, so none outlives us ----

const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

// Sends `signal` to our child and waits for it to exit; SIGKILL after `graceMs`.
async function stopChild(child, signal = 'SIGTERM', graceMs = 5000) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---- logs: kept per test, printed when it fails ----

export class Log {
  constructor() { this.lines = []; this.t0 = Date.now(); }
  add(source, text) {
    const line = `${((Date.now() - this.t0) / 1000).toFixed(2).padStart(7)} ${source}: ${text}`;
    this.lines.push(line);
    if (this.lines.length > 4000) this.lines.splice(0, 1000);
    if (verbose) process.stderr.write(line + '\n');
  }
  dump() { return this.lines.slice(-400).join('\n'); }
}

// ---- waiting ----

// Polls `probe` (sync or async) until it returns a truthy value, which is
// returned. On timeout, throws with `what` and the last value or error.
export async function waitFor(what, probe, { timeout = 15000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

// Polls `counters` (returns {label: number}) until every label is above zero,
// then until every label grows past that first sample: media flowing.
// Returns the final counters.
export async function waitFlowing(what, counters, { timeout = 20000, growTimeout = 10000 } = {}) {
  const first = await waitFor(`${what} to start`, async () => {
    const c = await counters();
    const missing = Object.entries(c).filter(([, v]) => !(v > 0)).map(([k]) => k);
    if (missing.length) throw new Error(`nothing yet on ${missing.join(', ')}: ${JSON.stringify(c)}`);
    return c;
  }, { timeout, interval: 250 });
  return waitFor(`${what} to keep growing`, async () => {
    const c = await counters();
    const stuck = Object.keys(first).filter((k) => !(c[k] > first[k]));
    if (stuck.length) {
      throw new Error(`not growing: ${stuck.map((k) => `${k} ${first[k]} -> ${c[k]}`).join(', ')}`);
    }
    return c;
  }, { timeout: growTimeout, interval: 250 });
}

// ---- meshcall-server ----

export class Server {
  constructor(log, { capacity, args = [] } = {}) {
    this.log = log;
    this.capacity = capacity;
    this.extraArgs = args;
    this.port = 0;
    this.url = null;
    this.child = null;
  }

  // Starts on this.port: any free port the first time, the same port again
  // after stop() (a restart, as the pages see it).
  async start() {
    const args = ['--listen', `${HOST}:${this.port}`];
    if (this.capacity) args.push('--capacity', String(this.capacity));
    args.push(...this.extraArgs);
    const child = spawn(serverPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', (code, sig) => {
      children.delete(child);
      this.log.add('server', `exited (${sig ?? code})`);
    });
    readline.createInterface({ input: child.stderr }).on('line', (l) => this.log.add('server', l));
    const listening = new Promise((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout });
      lines.on('line', (l) => {
        this.log.add('server', l);
        const m = /^listening on (https?:\/\/\S+?)\/?$/.exec(l);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`meshcall-server exited (${code}) before listening`)));
      child.once('error', reject);
    });
    this.child = child;
    let timer;
    const url = await Promise.race([
      listening,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('meshcall-server did not listen within 10 s')), 10000);
      }),
    ]).finally(() => clearTimeout(timer));
    this.url = url;
    this.port = Number(new URL(url).port);
    return this;
  }

  async stop() {
    if (this.child) await stopChild(this.child, 'SIGTERM');
    this.child = null;
  }

  // SIGKILL, and waits for the exit: the server vanishes without a word.
  async kill() {
    if (this.child) await stopChild(this.child, 'SIGKILL');
    this.child = null;
  }

  // SIGSTOP or SIGCONT: the server hangs, or goes on. Only the PID we started.
  signal(sig) {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`meshcall-server is not running (${sig})`);
    }
    this.log.add('server', `sending ${sig} to ${this.child.pid}`);
    process.kill(this.child.pid, sig);
  }

  get origin() { return `http://${HOST}:${this.port}`; }

  roomUrl(room, name) {
    return `${this.origin}/r/${encodeURIComponent(room)}?name=${encodeURIComponent(name)}&autojoin=1`;
  }

  // The server's /metrics as {"name{labels}": value}.
  async metrics() {
    const res = await fetch(`${this.origin}/metrics`);
    if (!res.ok) throw new Error(`/metrics: ${res.status}`);
    const out = {};
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  async relayedNegotiation() {
    const m = await this.metrics();
    return {
      offer: m['meshcall_messages_relayed_total{type="offer"}'] ?? 0,
      answer: m['meshcall_messages_relayed_total{type="answer"}'] ?? 0,
    };
  }
}

// ---- meshcall-test-peer (a meshcallbin pipeline) ----

// meson's environment has the uninstalled plugin and a registry of its own;
// a run by hand gets the same from MESHCALL_BUILD_ROOT.
function testPeerEnv() {
  const env = { ...process.env };
  if (!env.GST_PLUGIN_PATH_1_0) {
    env.GST_PLUGIN_PATH_1_0 = path.join(buildRoot, 'plugins/meshcall');
    env.GST_REGISTRY_1_0 = path.join(buildRoot, 'tests/browser/gst-registry.bin');
  }
  return env;
}

export class TestPeer {
  constructor(log, label) {
    this.log = log;
    this.label = label;
    this.id = null;
    this.joins = 0;
    this.events = [];
    this.stats = {}; // latest: {peerId: {video_frames, audio_buffers, connection_state}}
    this.statsLog = []; // [{t, peers}]: every stats line, the latest 2000
    this.exit = null;
  }

  static async start(log, server, room, name) {
    const peer = new TestPeer(log, `peer ${name}`);
    const child = spawn(testPeerPath, [
      '--server', server.url, '--room', room, '--name', name, '--ice-address', HOST,
    ], { stdio: ['pipe', 'pipe', 'pipe'], env: testPeerEnv() });
    peer.child = child;
    children.add(child);
    child.on('error', (e) => log.add(peer.label, `cannot run ${testPeerPath}: ${e.message}`));
    child.on('exit', (code, sig) => {
      children.delete(child);
      peer.exit = sig ?? code;
      log.add(peer.label, `exited (${peer.exit})`);
    });
    child.stdin.on('error', () => { /* gone: the exit is reported */ });
    readline.createInterface({ input: child.stderr }).on('line', (l) => log.add(peer.label, l));
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      let ev;
      try {
        ev = JSON.parse(l);
      } catch {
        log.add(peer.label, `not JSON on stdout: ${l}`);
        return;
      }
      if (ev.event === 'stats') {
        peer.stats = ev.peers;
        peer.statsLog.push({ t: Date.now(), peers: ev.peers });
        if (peer.statsLog.length > 2000) peer.statsLog.splice(0, 500);
        return;
      }
      log.add(peer.label, l);
      peer.events.push(ev);
      if (ev.event === 'joined') {
        peer.id = ev.id;
        peer.joins++;
      }
    });
    return peer;
  }

  // Waits for a join after the first `after` ones (meshcallbin rejoins by
  // itself when it loses the server, with a new id).
  async waitJoined(timeout = 10000, after = 0) {
    await waitFor(`${this.label} to join`, () => {
      if (this.exit !== null) throw new Error(`${this.label} exited (${this.exit})`);
      return this.joins > after;
    }, { timeout });
    return this.id;
  }

  // Counters of media received from `peerId` (0 until the peer is known).
  received(peerId) {
    const s = this.stats[peerId];
    return { video: s?.video_frames ?? 0, audio: s?.audio_buffers ?? 0 };
  }

  chat() { return this.events.filter((e) => e.event === 'chat'); }

  // Stats lines since `since` (ms) in which video from `peerId` had not grown
  // since the line before: spells of at least one stats interval (500 ms)
  // without a decoded frame. Returns [{t, frames}].
  videoStalls(peerId, since) {
    const lines = this.statsLog.filter((l) => l.t >= since);
    const out = [];
    for (let i = 1; i < lines.length; i++) {
      const before = lines[i - 1].peers[peerId]?.video_frames ?? 0;
      const now = lines[i].peers[peerId]?.video_frames ?? 0;
      if (now <= before) out.push({ t: lines[i].t, frames: now });
    }
    return out;
  }

  say(text) { this.child.stdin.write(text + '\n'); }

  async stop() {
    await stopChild(this.child, 'SIGTERM');
    return this.exit;
  }
}

// ---- Chromium ----

export function chromiumArgs(origin) {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--use-fake-device-for-media-stream=device-count=4,fps=30',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    `--unsafely-treat-insecure-origin-as-secure=${origin}`,
  ];
}

// What the page exposes as window.meshcall, copied out of the page.
function readMeshcall() {
  const m = window.meshcall;
  if (!m) return null;
  const pick = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));
  return {
    state: m.state, id: m.id, room: m.room, name: m.name, capacity: m.capacity,
    error: pick(m.error), participants: pick(m.participants), inbound: pick(m.inbound),
    negotiation: pick(m.negotiation), local: pick(m.local), chat: pick(m.chat),
    reconnects: m.reconnects, resumes: m.resumes, events: pick(m.events),
  };
}

export class Page {
  constructor(log, label, context, page) {
    this.log = log;
    this.label = label;
    this.context = context;
    this.page = page;
    this.dialogs = [];
    this.errors = []; // uncaught exceptions in the page
    this.closed = false;
  }

  // The page's window.meshcall (null before the client set it up).
  async meshcall() { return this.page.evaluate(readMeshcall); }

  async waitJoined(timeout = 15000) {
    const m = await waitFor(`${this.label} to join`, async () => {
      const m = await this.meshcall();
      if (m?.state === 'error') throw new Error(`${this.label} in error: ${JSON.stringify(m.error)}`);
      return m?.state === 'joined' && m.id ? m : null;
    }, { timeout, interval: 150 });
    this.id = m.id;
    return m.id;
  }

  // Sends a chat line as a user does.
  async say(text) {
    await this.page.fill('#chat-input', text);
    await this.page.press('#chat-input', 'Enter');
  }

  // The texts of the chat log as shown, earlier rooms' lines included.
  async chatShown() {
    return this.page.$$eval('#chat-log .chat-line .chat-text, #chat-log .chat-line-earlier .chat-text',
      (ls) => ls.map((l) => l.textContent));
  }

  // Counters of media received from `peerId` (0 until known).
  async received(peerId) {
    const inbound = await this.page.evaluate((id) => window.meshcall?.inbound?.[id] ?? null, peerId);
    return { video: inbound?.videoFrames ?? 0, audio: inbound?.audioPackets ?? 0 };
  }

  // Starts counting, inside the page, the video frames decoded from each of
  // `peerIds` every `intervalMs` (window.meshcall.inboundNow). A gap is a
  // time without a new frame, known from samples that saw the count stand
  // still: from the last sample that saw it grow to the last one that did
  // not, plus one interval. So the page's own stalls (a sample late because
  // the page did not run, on a busy machine) are not taken for gaps in the
  // media, which the decoder goes on with meanwhile. Read with frameGaps().
  async watchFrames(peerIds, intervalMs = 100) {
    await this.page.evaluate(({ peerIds, intervalMs }) => {
      clearInterval(window.frameWatch?.timer);
      const watch = { intervalMs, samples: 0, sampledAt: null, longestIntervalMs: 0, peers: {}, busy: false };
      for (const id of peerIds) watch.peers[id] = { frames: null, grewAt: null, longestGapMs: 0, long: [] };
      watch.timer = setInterval(async () => {
        if (watch.busy) return;
        watch.busy = true;
        try {
          const inbound = await window.meshcall.inboundNow();
          const now = Date.now();
          for (const [id, w] of Object.entries(watch.peers)) {
            const frames = inbound[id]?.videoFrames ?? 0;
            if (w.frames !== null && frames > w.frames) {
              const gap = Math.min(now - w.grewAt, watch.sampledAt - w.grewAt + intervalMs);
              w.longestGapMs = Math.max(w.longestGapMs, gap);
              if (gap > 250 && w.long.length < 20) w.long.push({ at: now, gapMs: gap });
            }
            if (w.frames === null || frames > w.frames) w.grewAt = now;
            w.frames = frames;
          }
          if (watch.sampledAt !== null) watch.longestIntervalMs = Math.max(watch.longestIntervalMs, now - watch.sampledAt);
          watch.sampledAt = now;
          watch.samples++;
        } finally {
          watch.busy = false;
        }
      }, intervalMs);
      window.frameWatch = watch;
    }, { peerIds, intervalMs });
  }

  // {samples, longestIntervalMs (between two samples), peers: {id: {frames,
  // longestGapMs, long: [{at, gapMs}] (gaps over 250 ms, when they ended)}}},
  // counting a gap still open at the last sample too.
  async frameGaps() {
    return this.page.evaluate(() => {
      const watch = window.frameWatch;
      const peers = {};
      for (const [id, w] of Object.entries(watch.peers)) {
        const open = w.grewAt === null ? Infinity : watch.sampledAt - w.grewAt;
        peers[id] = { frames: w.frames, longestGapMs: Math.max(w.longestGapMs, open), long: w.long };
      }
      return { samples: watch.samples, longestIntervalMs: watch.longestIntervalMs, peers };
    });
  }

  // Average colour [r, g, b] of the middle of the video in `peerId`'s tile,
  // or null while it shows no frame.
  async tileColour(peerId) {
    return this.page.evaluate((id) => {
      const video = document.querySelector(`#tiles .tile[data-peer-id="${id}"] video`);
      if (!video || !video.videoWidth) return null;
      const canvas = document.createElement('canvas');
      canvas.width = 32;
      canvas.height = 32;
      const ctx = canvas.getContext('2d');
      const w = video.videoWidth, h = video.videoHeight;
      ctx.drawImage(video, w / 4, h / 4, w / 2, h / 2, 0, 0, 32, 32);
      const d = ctx.getImageData(0, 0, 32, 32).data;
      const sum = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += d[i + c];
      return sum.map((v) => Math.round(v / (d.length / 4)));
    }, peerId);
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.context.close().catch(() => {});
  }
}

// One Chromium per test (its flags name the server's origin); one context per page.
export class Browser {
  static async launch(log, server) {
    const b = new Browser();
    b.log = log;
    // Without the tests' G_DEBUG=fatal-criticals: a GLib critical inside
    // Chromium is not ours to catch.
    const env = { ...process.env };
    delete env.G_DEBUG;
    b.browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs(server.origin),
      env,
    });
    b.server = server;
    return b;
  }

  // `init`: a function run in the page before its own scripts (a test's
  // probe or fault).
  async open(room, name, { join = true, init = null } = {}) {
    const label = `page ${name}`;
    const context = await this.browser.newContext({ viewport: { width: 1024, height: 720 } });
    if (init) await context.addInitScript(init);
    const page = await context.newPage();
    const p = new Page(this.log, label, context, page);
    page.on('console', (msg) => this.log.add(label, `console.${msg.type()}: ${msg.text()}`));
    page.on('pageerror', (err) => {
      this.log.add(label, `uncaught: ${err.stack ?? err.message}`);
      p.errors.push(err.message);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) this.log.add(label, `HTTP ${r.status()} for ${r.url()}`);
    });
    page.on('dialog', (dialog) => {
      this.log.add(label, `dialog ${dialog.type()}: ${dialog.message()}`);
      p.dialogs.push({ type: dialog.type(), message: dialog.message() });
      dialog.dismiss().catch(() => {});
    });
    await page.goto(this.server.roomUrl(room, name));
    if (join) await p.waitJoined();
    return p;
  }

  async close() {
    await this.browser?.close().catch(() => {});
  }
}

// ---- one test = one fixture ----

// Runs `body(fx)` with a fresh server (and Chromium when it opens pages).
// Prints the logs of the server, pages and peers when the body fails, and
// stops every child it started.
export function roomTest(name, options, body) {
  if (typeof options === 'function') [options, body] = [{}, options];
  test(name, { skip: skipReason ?? false, timeout: options.timeout ?? 120000 }, async (t) => {
    for (const exe of [serverPath, testPeerPath, chromiumPath]) {
      if (!existsSync(exe)) throw new Error(`${exe} is missing (MESHCALL_BUILD_ROOT=${buildRoot})`);
    }
    const fx = new Fixture(t, options);
    try {
      await fx.server.start();
      await body(fx);
      fx.checkPages();
    } catch (e) {
      process.stdout.write(`\n---- log of "${name}" ----\n${fx.log.dump()}\n---- end of log ----\n`);
      throw e;
    } finally {
      await fx.close();
    }
  });
}

class Fixture {
  constructor(t, { capacity, serverArgs } = {}) {
    this.t = t;
    this.log = new Log();
    this.server = new Server(this.log, { capacity, args: serverArgs });
    this.peers = [];
    this.pages = [];
    this.browser = null;
    this.started = Date.now();
  }

  // opts: {join, init} (Browser.open).
  async page(room, name, opts) {
    if (!this.browser) this.browser = await Browser.launch(this.log, this.server);
    const page = await this.browser.open(room, name, opts);
    this.pages.push(page);
    return page;
  }

  // No page threw an uncaught exception or opened a dialog.
  checkPages() {
    for (const p of this.pages) {
      if (p.errors.length) throw new Error(`${p.label} threw: ${p.errors.join('; ')}`);
      if (p.dialogs.length) throw new Error(`${p.label} opened dialogs: ${JSON.stringify(p.dialogs)}`);
    }
  }

  async peer(room, name, { join = true } = {}) {
    const p = await TestPeer.start(this.log, this.server, room, name);
    this.peers.push(p);
    if (join) await p.waitJoined();
    return p;
  }

  note(text) {
    this.log.add('test', text);
    this.t.diagnostic(`${((Date.now() - this.started) / 1000).toFixed(1)} s: ${text}`);
  }

  async close() {
    await this.browser?.close();
    await Promise.all(this.peers.map((p) => p.stop()));
    await this.server.stop();
  }
}

// ---- network faults, inside the test's namespace ----

// iproute2's tc, or null: iproute2 is there wherever the namespace is (it
// makes the veth pair). This kernel has no tc drop action (gact), so a fault
// is a tbf that drops whatever u32 sends to it; unlike a drop in nftables'
// output hook, the sender sees no error, as on a real dead path.
export function findTc() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    const tc = path.join(dir || '.', 'tc');
    try {
      accessSync(tc, constants.X_OK);
      return tc;
    } catch { /* not here */ }
  }
  return null;
}

async function run(log, argv) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  log.add('net', `${argv.join(' ')} -> ${code}${out.trim() ? `: ${out.trim()}` : ''}`);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${out.trim()}`);
}

// Drops every packet on lo (where all traffic between the namespace's own
// addresses goes) except TCP to or from `keepPort`, the server's: every
// peer connection loses its path, UDP and ICE-TCP alike, and signaling stays.
export async function blockAllButPort(log, tc, keepPort) {
  const t = (...args) => run(log, [tc, ...args]);
  await t('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10');
  await t('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
  await t('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '8kbit');
  // Every packet is larger than this bucket: tbf drops them all.
  await t('qdisc', 'add', 'dev', 'lo', 'parent', '1:20', 'handle', '20:', 'tbf', 'rate', '8kbit',
    'burst', '1', 'limit', '1');
  for (const dir of ['sport', 'dport']) {
    await t('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
      'match', 'ip', 'protocol', '6', '0xff', 'match', 'ip', dir, String(keepPort), '0xffff',
      'flowid', '1:10');
  }
  await t('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '2', 'u32',
    'match', 'u32', '0', '0', 'flowid', '1:20');
}

export async function unblock(log, tc) {
  await run(log, [tc, 'qdisc', 'del', 'dev', 'lo', 'root']);
}

// ---- checks used by several tests ----

// Every participant receives video and audio from every other one, growing.
// `members` are Pages and TestPeers with their ids known.
export async function expectFullMesh(what, members, opts) {
  return waitFlowing(what, async () => {
    const out = {};
    for (const at of members) {
      for (const from of members) {
        if (from === at) continue;
        const r = await at.received(from.id);
        out[`${at.label} <- ${from.label} video`] = r.video;
        out[`${at.label} <- ${from.label} audio`] = r.audio;
      }
    }
    return out;
  }, opts);
}

export function ensureArtifactDir() {
  mkdirSync(artifactDir, { recursive: true });
  return artifactDir;
}

export function uniqueRoom(prefix) {
  return `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
}
