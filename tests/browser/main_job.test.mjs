// SPDX-License-Identifier: LGPL-2.1-or-later
// The README's first command, `bash scripts/demo.sh`, on a fresh clone: it
// installs (nothing is missing here), builds, starts meshcall-server on :8080
// with a meshcall peer in room demo and prints the URL. A browser page at that
// URL and /api/rooms/demo show the peer; Ctrl-C (SIGINT to the script's
// process group, as a terminal sends it) stops both, and the script exits 0.
//
// The clone is of MESHCALL_SOURCE_ROOT's committed HEAD, built from scratch.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { Browser, HOST, Log, waitFor } from './harness.mjs';

const sourceRoot = process.env.MESHCALL_SOURCE_ROOT;
const skip = !sourceRoot ? 'MESHCALL_SOURCE_ROOT is not set' : false;
const PORT = 8080; // the README's; free inside the test's network namespace

// Is `pid` (or a process group, with a negative pid) still there?
function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test('main job: demo.sh on a fresh clone serves room demo with its peer, and Ctrl-C stops it',
  { skip, timeout: 900000 }, async (t) => {
    const log = new Log();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'meshcall-main-job-'));
    let demo = null;
    let browser = null;
    try {
      execFileSync('git', ['clone', '--quiet', sourceRoot, path.join(dir, 'meshcall')]);
      const clone = path.join(dir, 'meshcall');
      const env = { ...process.env };
      // As a person runs it: no test plugins, no test registry, no display.
      for (const k of ['GST_PLUGIN_PATH_1_0', 'GST_PLUGIN_PATH', 'GST_REGISTRY_1_0', 'G_DEBUG',
        'DISPLAY', 'WAYLAND_DISPLAY', 'MESHCALL_BUILD_ROOT']) delete env[k];
      env.GST_REGISTRY_1_0 = path.join(dir, 'registry.bin');
      // Its own process group, so a SIGINT reaches the script and its
      // children the way a terminal's Ctrl-C does.
      demo = spawn('bash', ['scripts/demo.sh'], { cwd: clone, env, detached: true,
        stdio: ['pipe', 'pipe', 'pipe'] });
      const exited = new Promise((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })));
      const out = [];
      readline.createInterface({ input: demo.stdout }).on('line', (l) => { out.push(l); log.add('demo', l); });
      readline.createInterface({ input: demo.stderr }).on('line', (l) => log.add('demo!', l));

      const started = Date.now();
      const openLine = await waitFor('demo.sh to print the URL',
        () => out.find((l) => l.startsWith('open http://')), { timeout: 840000, interval: 250 });
      t.diagnostic(`installed, built and started in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      const url = new URL(openLine.slice('open '.length));
      assert.equal(url.port, String(PORT));
      assert.equal(url.pathname, '/r/demo');

      // The REST view of the room has the peer.
      const base = `http://${HOST}:${PORT}`;
      const room = await waitFor('/api/rooms/demo to list the peer', async () => {
        const r = await fetch(`${base}/api/rooms/demo`);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const body = await r.json();
        return body.peers?.length === 1 ? body : null;
      }, { timeout: 20000 });
      assert.equal(room.peers[0].name, 'demo camera');

      // A page at the printed URL (on the address the browser can reach)
      // shows the peer and receives its media.
      const server = {
        origin: base,
        roomUrl: (r, name) => `${base}${url.pathname}?name=${encodeURIComponent(name)}&autojoin=1`,
      };
      browser = await Browser.launch(log, server);
      const page = await browser.open('demo', 'Visitor');
      const peerId = room.peers[0].id;
      await waitFor('the page to list the demo peer', async () => {
        const m = await page.meshcall();
        return m.participants.some((p) => p.id === peerId && p.name === 'demo camera');
      });
      await page.page.waitForSelector(`#tiles .tile[data-peer-id="${peerId}"]`, { timeout: 10000 });
      await waitFor('video and audio from the demo peer', async () => {
        const r = await page.received(peerId);
        return r.video > 10 && r.audio > 10 ? r : null;
      }, { timeout: 20000 });

      // Ctrl-C.
      const interrupted = Date.now();
      process.kill(-demo.pid, 'SIGINT');
      const { code, signal } = await Promise.race([
        exited,
        new Promise((_, reject) => setTimeout(() => reject(new Error('demo.sh did not stop within 15 s')), 15000)),
      ]);
      t.diagnostic(`stopped ${Date.now() - interrupted} ms after SIGINT`);
      assert.equal(signal, null);
      assert.equal(code, 0);
      // Nothing of it is left: not the server, not the peer.
      await waitFor('every process of the demo to be gone', () => !alive(-demo.pid), { timeout: 5000 });
      await assert.rejects(fetch(`${base}/api/rooms/demo`), 'the server still answers');
      // The peer left the room before it went (it says so on the terminal).
      const said = log.lines.join('\n');
      assert.match(said, /left room demo/);
      demo = null;
    } catch (e) {
      process.stdout.write(`\n---- log of the main job ----\n${log.dump()}\n---- end of log ----\n`);
      throw e;
    } finally {
      await browser?.close();
      if (demo && alive(-demo.pid)) process.kill(-demo.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
