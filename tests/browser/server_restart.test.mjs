// SPDX-License-Identifier: LGPL-2.1-or-later
// The server goes away and comes back on the same port: the pages show that
// they are reconnecting, then are back in the room with media within 10 s
// (and so is the meshcallbin pipeline, which rejoins by itself).
import assert from 'node:assert/strict';
import { expectFullMesh, roomTest, uniqueRoom, waitFor } from './harness.mjs';

const LIMIT_MS = 10000;

roomTest('server restart: everyone reconnects with media within 10 s', async (fx) => {
  const room = uniqueRoom('restart');
  const a = await fx.page(room, 'Alice');
  const b = await fx.page(room, 'Bob');
  const p = await fx.peer(room, 'gst-peer');
  await expectFullMesh('media in all six directions', [a, b, p]);
  const peerJoins = p.joins;

  await fx.server.stop();
  fx.note('server stopped');
  for (const page of [a, b]) {
    await waitFor(`${page.label} to show reconnecting`, async () =>
      (await page.meshcall()).state === 'reconnecting' &&
      await page.page.$('#status[data-state="reconnecting"]'), { timeout: 5000 });
  }
  fx.note('both pages show reconnecting');

  await fx.server.start();
  const back = Date.now();
  const left = () => Math.max(500, LIMIT_MS - (Date.now() - back));
  fx.note(`server back on port ${fx.server.port}`);
  // New connections get new ids: read them again, then wait for media.
  await Promise.all([a.waitJoined(left()), b.waitJoined(left()), p.waitJoined(left(), peerJoins)]);
  fx.note(`all rejoined after ${Date.now() - back} ms`);
  await expectFullMesh('media in all six directions after the restart', [a, b, p],
    { timeout: left(), growTimeout: left() });
  const took = Date.now() - back;
  fx.note(`back in the room with media ${took} ms after the server returned`);
  assert.ok(took <= LIMIT_MS, `took ${took} ms`);
  const m = await a.meshcall();
  assert.ok(m.reconnects >= 1, `meshcall.reconnects is ${m.reconnects}`);
  assert.equal(await a.page.getAttribute('#status', 'data-state'), 'joined');
});
