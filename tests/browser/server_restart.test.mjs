// SPDX-License-Identifier: LGPL-2.1-or-later
// Two pages and a meshcallbin pipeline in a call; the server is killed
// (SIGKILL), or shut down (SIGTERM: close 1001 to everyone, no peer-left),
// and started again 8 s later on the same port with the same --state-dir. Media goes from peer to peer, so it never stops: each page
// keeps decoding video from both others with no gap over 500 ms, through the
// outage and the rejoin. The pages show that they are reconnecting; within
// 10 s of the restart the room lists all three again with the ids they had,
// nobody saw anyone leave, and no connection was rebuilt (docs/protocol.md,
// "Keeping the call through failures"). The restarted server counts chat
// lines from 1 again: its first line still shows, and the old ones stay.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { expectFullMesh, roomTest, uniqueRoom, waitFor } from './harness.mjs';

const OUTAGE_MS = 8000;
const BACK_MS = 10000;
const GAP_MS = 500;
// After everyone is listed again: long enough for a rebuilt connection or a
// late peer-left to show.
const SETTLE_MS = 3000;

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'meshcall-restart-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

async function roomIds(server, room) {
  const res = await fetch(`${server.origin}/api/rooms/${encodeURIComponent(room)}`);
  if (!res.ok) throw new Error(`GET /api/rooms/${room}: ${res.status}`);
  return (await res.json()).peers.map((p) => p.id).sort();
}

for (const signal of ['SIGKILL', 'SIGTERM']) {
  roomTest(`server restart (${signal}): media untouched, everyone back with the same id within 10 s`,
    { serverArgs: ['--state-dir', stateDir] }, (fx) => restart(fx, signal));
}

async function restart(fx, signal) {
  const room = uniqueRoom('restart');
  const a = await fx.page(room, 'Alice');
  const b = await fx.page(room, 'Bob');
  const p = await fx.peer(room, 'gst-peer');
  await expectFullMesh('media in all six directions', [a, b, p]);
  const ids = [a.id, b.id, p.id].sort();
  assert.deepEqual(await roomIds(fx.server, room), ids);
  await a.say('before the restart');
  for (const page of [a, b]) {
    await waitFor(`${page.label} to show the first line`, async () =>
      (await page.chatShown()).includes('before the restart'));
  }
  const before = {};
  for (const page of [a, b]) before[page.label] = await page.meshcall();

  for (const [page, others] of [[a, [b.id, p.id]], [b, [a.id, p.id]]]) await page.watchFrames(others);
  const watchFrom = Date.now();
  await (signal === 'SIGKILL' ? fx.server.kill() : fx.server.stop());
  const killed = Date.now();
  fx.note(`server gone (${signal})`);
  for (const page of [a, b]) {
    await waitFor(`${page.label} to show reconnecting`, async () =>
      (await page.meshcall()).state === 'reconnecting' &&
      await page.page.$('#status[data-state="reconnecting"]'), { timeout: 5000 });
  }
  fx.note('both pages show reconnecting');

  // The outage itself.
  await new Promise((r) => setTimeout(r, Math.max(0, killed + OUTAGE_MS - Date.now())));
  await fx.server.start();
  const back = Date.now();
  fx.note(`server back on port ${fx.server.port}`);
  await waitFor('the room to list all three with their ids', async () => {
    const now = await roomIds(fx.server, room);
    if (JSON.stringify(now) !== JSON.stringify(ids)) throw new Error(`listed ${JSON.stringify(now)}`);
    return true;
  }, { timeout: BACK_MS, interval: 200 });
  const listed = Date.now();
  fx.note(`all three listed again ${listed - back} ms after the restart`);
  for (const page of [a, b]) {
    await waitFor(`${page.label} to be back in the room`, async () => {
      const m = await page.meshcall();
      return m.state === 'joined' && m.resumes >= 1;
    }, { timeout: Math.max(1000, back + BACK_MS - Date.now()) });
  }
  await b.say('after the restart');
  await new Promise((r) => setTimeout(r, SETTLE_MS));

  const label = { [a.id]: a.label, [b.id]: b.label, [p.id]: p.label };
  const rel = (t) => ((t - killed) / 1000).toFixed(2);
  const gaps = {};
  for (const page of [a, b]) {
    gaps[page.label] = await page.frameGaps();
    const g = gaps[page.label];
    fx.note(`${page.label}: ${g.samples} samples, at most ${g.longestIntervalMs} ms apart; longest gaps ` +
      Object.entries(g.peers).map(([id, x]) => `from ${label[id]}: ${x.longestGapMs} ms ` +
        `(over 250 ms, ending at s after the server went: ` +
        `${x.long.map((l) => `${l.gapMs}@${rel(l.at)}`).join(' ') || 'none'})`).join('; '));
  }
  fx.note(`back: ${rel(back)} s, all listed: ${rel(listed)} s after the server went`);
  for (const page of [a, b]) {
    const m = await page.meshcall();
    assert.equal(m.id, page.id, `${page.label} has a new id`);
    assert.equal(await page.page.getAttribute('#status', 'data-state'), 'joined');
    assert.deepEqual(m.events.filter((e) => e.type === 'peer-left'), [], `${page.label} saw a peer leave`);
    // Kept, not rebuilt: the same connections, nothing negotiated again.
    assert.deepEqual(m.negotiation, before[page.label].negotiation, `${page.label} negotiated again`);
    for (const x of m.participants) {
      assert.equal(x.connections, 1, `${page.label}: connection to ${x.name} rebuilt`);
      assert.equal(x.connectionState, 'connected', `${page.label}: connection to ${x.name}`);
    }
    assert.equal(m.participants.length, 2);
    const tiles = await page.page.$$eval('#tiles .tile[data-peer-id]', (ts) => ts.map((t) => t.dataset.peerId));
    assert.deepEqual(tiles.sort(), ids.filter((id) => id !== page.id));
    assert.deepEqual(await page.chatShown(), ['before the restart', 'after the restart'],
      `${page.label}'s chat log`);
    assert.deepEqual(m.chat.map((l) => [l.seq, l.text]), [[1, 'after the restart']],
      `${page.label}: the new room's lines`);
  }
  assert.deepEqual(p.events.filter((e) => e.event === 'peer-left'), [], 'gst-peer saw a peer leave');
  for (const from of [a, b]) {
    const stalls = p.videoStalls(from.id, watchFrom);
    assert.deepEqual(stalls, [], `gst-peer: 500 ms stats intervals without a frame from ${from.label}`);
  }
  await expectFullMesh('media in all six directions after the restart', [a, b, p],
    { timeout: 2000, growTimeout: 2000 });
  // Last, so that a failure here says the rest held. A machine much busier
  // than its cores stalls Chromium's capture and decoding too, outage or not.
  const load = `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`;
  for (const page of [a, b]) {
    for (const [id, x] of Object.entries(gaps[page.label].peers)) {
      assert.ok(x.longestGapMs <= GAP_MS, `${page.label}: ${x.longestGapMs} ms without a frame ` +
        `from ${label[id]} (at most ${GAP_MS}; ${load})`);
    }
  }
}
