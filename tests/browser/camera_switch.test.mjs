// SPDX-License-Identifier: LGPL-2.1-or-later
// Switching camera in the browser replaces the sent track without any
// renegotiation: the remote meshcallbin keeps receiving frames, and no offer
// or answer is exchanged (neither counted by the pages nor relayed by the server).
import assert from 'node:assert/strict';
import { expectFullMesh, roomTest, uniqueRoom, waitFlowing, waitFor } from './harness.mjs';

roomTest('camera switch in the browser: replaceTrack, frames keep coming, no renegotiation', async (fx) => {
  const room = uniqueRoom('camera');
  const a = await fx.page(room, 'Alice');
  const b = await fx.page(room, 'Bob');
  const p = await fx.peer(room, 'gst-peer');
  await expectFullMesh('media in all six directions', [a, b, p]);

  const before = await a.meshcall();
  const negotiationA = before.negotiation;
  const negotiationB = (await b.meshcall()).negotiation;
  const relayed = await fx.server.relayedNegotiation();
  fx.note(`before: local ${JSON.stringify(before.local)}, relayed ${JSON.stringify(relayed)}`);

  // The 4th fake camera (the 2nd is a depth camera that sends nothing).
  const options = await a.page.$$eval('select#camera-select option', (os) =>
    os.map((o) => ({ value: o.value, label: o.textContent })));
  assert.ok(options.length >= 4, `expected 4 cameras in #camera-select, got ${JSON.stringify(options)}`);
  const target = options[3].value;
  assert.notEqual(target, before.local.videoDeviceId, 'the 4th camera is already in use');
  await a.page.selectOption('select#camera-select', target);
  const after = await waitFor('Alice to switch to the 4th camera', async () => {
    const m = await a.meshcall();
    return m.local.videoDeviceId === target && m.local.videoTrackId !== before.local.videoTrackId ? m : null;
  }, { timeout: 5000 });
  fx.note(`switched to ${options[3].label}: track ${before.local.videoTrackId} -> ${after.local.videoTrackId}`);

  // Frames from Alice keep coming after the switch, twice over a second or
  // more, at the pipeline and at Bob.
  for (let round = 0; round < 2; round++) {
    await waitFlowing('video from Alice after the switch', async () => ({
      'gst-peer <- Alice video': p.received(a.id).video,
      'Bob <- Alice video': (await b.received(a.id)).video,
    }), { timeout: 5000, growTimeout: 5000 });
  }

  const m = await a.meshcall();
  assert.equal(m.state, 'joined');
  assert.equal(m.local.videoDeviceId, target);
  assert.deepEqual(m.negotiation, negotiationA, "Alice's offers/answers changed after the switch");
  assert.deepEqual((await b.meshcall()).negotiation, negotiationB, "Bob's offers/answers changed after the switch");
  assert.deepEqual(await fx.server.relayedNegotiation(), relayed, 'the server relayed an offer or answer after the switch');
  assert.equal(await a.page.$eval('select#camera-select', (s) => s.value), target);
});
