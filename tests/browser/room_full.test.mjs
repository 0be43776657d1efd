// SPDX-License-Identifier: LGPL-2.1-or-later
// A fourth participant in a room of capacity 3 is refused with room-full and
// the three inside notice nothing.
import assert from 'node:assert/strict';
import { expectFullMesh, roomTest, uniqueRoom, waitFor } from './harness.mjs';

roomTest('room full: the fourth page is told, the three inside go on', { capacity: 3 }, async (fx) => {
  const room = uniqueRoom('full');
  const a = await fx.page(room, 'Alice');
  const b = await fx.page(room, 'Bob');
  const p = await fx.peer(room, 'gst-peer');
  const inside = [a, b, p];
  await expectFullMesh('media in all six directions', inside);

  const d = await fx.page(room, 'Dave', { join: false });
  const refused = await waitFor('Dave to be refused', async () => {
    const m = await d.meshcall();
    const status = await d.page.$('#status[data-state="error"]');
    return m?.state === 'error' && status ? m : null;
  });
  assert.equal(refused.error?.code, 'room-full');
  const statusText = await d.page.textContent('#status');
  assert.match(`${statusText} ${refused.error.message}`, /full/i, `the status does not say the room is full: "${statusText}"`);
  assert.match(statusText, /full/i, `#status does not say the room is full: "${statusText}"`);
  fx.note(`Dave refused: "${statusText.trim()}"`);

  // The three inside keep each other, and only each other, and media flows.
  const ids = inside.map((m) => m.id).sort();
  for (const page of [a, b]) {
    const m = await page.meshcall();
    const seen = m.participants.map((x) => x.id).filter((id) => id !== page.id);
    assert.deepEqual([...seen, page.id].sort(), ids, `${page.label} participants changed`);
  }
  assert.ok(!p.events.some((e) => e.event === 'peer-joined' && e.name === 'Dave'), 'gst-peer saw Dave join');
  assert.deepEqual(Object.keys(p.stats).sort(), [a.id, b.id].sort());
  await expectFullMesh('media in all six directions after the refusal', inside, { timeout: 5000 });
  assert.equal((await d.meshcall()).state, 'error', 'Dave left the error state');
});
