// SPDX-License-Identifier: LGPL-2.1-or-later
// Closing a page removes its tile everywhere within 3 s, and the pipeline
// reports peer-left.
import assert from 'node:assert/strict';
import { expectFullMesh, roomTest, uniqueRoom, waitFor } from './harness.mjs';

roomTest('leave: a closed page disappears from the others within 3 s', async (fx) => {
  const room = uniqueRoom('leave');
  const a = await fx.page(room, 'Alice');
  const b = await fx.page(room, 'Bob');
  const p = await fx.peer(room, 'gst-peer');
  await expectFullMesh('media in all six directions', [a, b, p]);
  await a.page.waitForSelector(`#tiles .tile[data-peer-id="${b.id}"]`, { timeout: 5000 });

  const closed = Date.now();
  await b.close();
  await Promise.all([
    a.page.waitForSelector(`#tiles .tile[data-peer-id="${b.id}"]`, { state: 'detached', timeout: 3000 })
      .then(() => fx.note(`Bob's tile gone at Alice after ${Date.now() - closed} ms`)),
    waitFor('gst-peer to report peer-left for Bob',
      () => p.events.some((e) => e.event === 'peer-left' && e.id === b.id), { timeout: 3000 })
      .then(() => fx.note(`gst-peer saw Bob leave after ${Date.now() - closed} ms`)),
  ]);
  const m = await a.meshcall();
  assert.ok(!m.participants.some((x) => x.id === b.id), 'Bob is still in Alice\'s participants');
  // Alice and the pipeline go on.
  await expectFullMesh('media between Alice and gst-peer', [a, p], { timeout: 5000 });
});
