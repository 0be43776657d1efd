// SPDX-License-Identifier: LGPL-2.1-or-later
// A peer connection that fails is rebuilt with a new RTCPeerConnection, the
// peer's tile staying where it is (docs/protocol.md, "Reconnect"): by its
// offerer, or by the answerer asking with `reconnect`.
import assert from 'node:assert/strict';
import { blockAllButPort, findTc, roomTest, unblock, uniqueRoom, waitFor, waitFlowing } from './harness.mjs';

const BLACKOUT_MS = 15000;
const BACK_MS = 5000;

// Media from `from` grows at `at`, counted over all connections.
function growing(at, from) {
  return async () => ({ [`${at.label} <- ${from.label}`]: (await at.received(from.id)).video });
}

async function inboundNow(page, id) {
  return page.page.evaluate(async (id) => (await window.meshcall.inboundNow())[id]?.videoFrames ?? 0, id);
}

function participant(m, id) {
  return m.participants.find((x) => x.id === id);
}

roomTest('reconnect: after a 15 s blackout of every media path, video is back within 5 s',
  async (fx) => {
    const tc = findTc();
    if (!tc) {
      fx.t.skip('no tc (iproute2) to make the blackout with');
      return;
    }
    const room = uniqueRoom('blackout');
    const a = await fx.page(room, 'Alice');
    const b = await fx.page(room, 'Bob'); // joined last: Bob offers
    await waitFlowing('video both ways', async () => ({
      ...(await growing(a, b)()), ...(await growing(b, a)()),
    }));

    let blocked = false;
    try {
      await blockAllButPort(fx.log, tc, fx.server.port);
      blocked = true;
      const start = Date.now();
      fx.note('every media path blocked');
      // Failed, or disconnected for 5 s: on both sides, then attempts that
      // cannot succeed yet.
      for (const [page, other] of [[a, b], [b, a]]) {
        await waitFor(`${page.label}'s connection to fail`, async () =>
          (await page.meshcall()).events.some((e) => e.type === 'connection-failed' && e.id === other.id),
        { timeout: BLACKOUT_MS - 1000 });
      }
      fx.note(`both sides saw their connection fail after ${Date.now() - start} ms`);
      await new Promise((r) => setTimeout(r, Math.max(0, start + BLACKOUT_MS - Date.now())));
      await unblock(fx.log, tc);
      blocked = false;
    } finally {
      if (blocked) await unblock(fx.log, tc).catch(() => {});
    }
    const open = Date.now();
    const before = { a: await inboundNow(a, b.id), b: await inboundNow(b, a.id) };
    fx.note(`unblocked; frames so far: Alice <- Bob ${before.a}, Bob <- Alice ${before.b}`);
    await waitFor('video both ways again', async () => {
      const now = { a: await inboundNow(a, b.id), b: await inboundNow(b, a.id) };
      if (!(now.a > before.a + 10 && now.b > before.b + 10)) throw new Error(JSON.stringify(now));
      return true;
    }, { timeout: BACK_MS, interval: 100 });
    fx.note(`video both ways again ${Date.now() - open} ms after the unblock`);

    for (const [page, other] of [[a, b], [b, a]]) {
      const m = await page.meshcall();
      const x = participant(m, other.id);
      fx.note(`${page.label}: ${JSON.stringify(x)}; events ${JSON.stringify(m.events.map((e) => e.type))}`);
      assert.ok(x.connections >= 2, `${page.label}: the connection to ${other.label} was not rebuilt`);
      assert.equal(x.connectionState, 'connected');
      assert.deepEqual(m.events.filter((e) => e.type === 'peer-left'), [], `${page.label}: a tile went`);
      assert.equal(m.state, 'joined');
    }
    // Every new connection was offered by Bob, who offered the first: on
    // his own, or because Alice asked.
    const mb = await b.meshcall();
    const ma = await a.meshcall();
    assert.equal(participant(mb, a.id).role, 'offerer');
    assert.equal(participant(ma, b.id).role, 'answerer');
    assert.equal(ma.negotiation.offersSent, 0, 'Alice offered');
  });

// Chromium's getter for one connection's state, overridden from the test:
// that side alone sees its connection fail (the other side still sees it
// connected), which is when the answerer has to ask.
function failureProbe() {
  const Native = window.RTCPeerConnection;
  const made = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
  window.failConnection = () => {
    const pc = made.find((c) => c.connectionState === 'connected');
    Object.defineProperty(pc, 'connectionState', { get: () => 'failed' });
    pc.dispatchEvent(new Event('connectionstatechange'));
  };
}

roomTest('reconnect: the answerer whose connection failed asks with reconnect; the offerer offers anew',
  async (fx) => {
    const room = uniqueRoom('ask');
    const a = await fx.page(room, 'Alice', { init: failureProbe });
    const b = await fx.page(room, 'Bob'); // joined last: Bob offers
    await waitFlowing('video both ways', async () => ({
      ...(await growing(a, b)()), ...(await growing(b, a)()),
    }));
    const offers = await fx.server.relayedNegotiation();

    const failed = Date.now();
    await a.page.evaluate(() => window.failConnection());
    fx.note('Alice\'s connection to Bob made to look failed');
    await waitFor('Bob to receive reconnect from Alice', async () =>
      (await b.meshcall()).events.some((e) => e.type === 'reconnect-received' && e.id === a.id),
    { timeout: 5000 });
    fx.note(`Bob asked to reconnect ${Date.now() - failed} ms after the failure`);
    await waitFor('new connections on both sides', async () => {
      const [ma, mb] = [await a.meshcall(), await b.meshcall()];
      const [xa, xb] = [participant(ma, b.id), participant(mb, a.id)];
      return xa.connections === 2 && xb.connections === 2 &&
        xa.connectionState === 'connected' && xb.connectionState === 'connected';
    }, { timeout: 10000 });
    await waitFlowing('video both ways on the new connection', async () => ({
      ...(await growing(a, b)()), ...(await growing(b, a)()),
    }), { timeout: 5000, growTimeout: 5000 });
    fx.note(`video both ways on the new connection ${Date.now() - failed} ms after the failure`);

    const [ma, mb] = [await a.meshcall(), await b.meshcall()];
    const sent = ma.events.filter((e) => e.type === 'reconnect-sent');
    assert.equal(sent.length, 1, `Alice sent reconnect ${sent.length} times`);
    assert.ok(sent[0].ts - failed >= 900, `Alice asked after ${sent[0].ts - failed} ms, not after 1 s`);
    assert.equal(participant(mb, a.id).role, 'offerer');
    assert.equal(participant(ma, b.id).role, 'answerer');
    const relayed = await fx.server.relayedNegotiation();
    assert.equal(relayed.offer - offers.offer, 1, 'one new offer');
    assert.equal(relayed.answer - offers.answer, 1, 'one new answer');
    for (const m of [ma, mb]) {
      assert.deepEqual(m.events.filter((e) => e.type === 'peer-left' || e.type === 'grace-ended'), []);
      assert.equal(m.participants.length, 1);
    }
    assert.equal(await a.page.$$eval('#tiles .tile[data-peer-id]', (ts) => ts.length), 1);
  });
