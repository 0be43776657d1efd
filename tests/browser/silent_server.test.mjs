// SPDX-License-Identifier: LGPL-2.1-or-later
// A server that hangs (SIGSTOP: its sockets stay open, nothing comes back)
// is taken for lost once it has been silent for 20 s, as a closed socket is
// (room.js, SILENCE_MS): the pages show that they are reconnecting, while
// their media goes on. Once it runs again (SIGCONT), they are back in the
// room with the ids they had, and the history their welcome repeats shows
// no line twice.
import assert from 'node:assert/strict';
import { roomTest, uniqueRoom, waitFor, waitFlowing } from './harness.mjs';

const SILENCE_MS = 20000;
// The page checks once a second; page and test may be slow on a busy machine.
const MARGIN_MS = 4000;
const GAP_MS = 500;
const BACK_MS = 10000;

roomTest('silent server: the pages see it lost within 20 s, media goes on, and they come back',
  async (fx) => {
    const room = uniqueRoom('silent');
    const a = await fx.page(room, 'Alice');
    const b = await fx.page(room, 'Bob');
    const flowing = async () => ({
      'Alice <- Bob': (await a.received(b.id)).video, 'Bob <- Alice': (await b.received(a.id)).video,
    });
    await waitFlowing('video both ways', flowing);
    await a.say('before the hang');
    for (const page of [a, b]) {
      await waitFor(`${page.label} to show the first line`, async () =>
        (await page.chatShown()).includes('before the hang'));
    }
    await a.watchFrames([b.id]);
    await b.watchFrames([a.id]);

    fx.server.signal('SIGSTOP');
    const stopped = Date.now();
    fx.note('server stopped (SIGSTOP)');
    const seen = {};
    await Promise.all([a, b].map((page) => waitFor(`${page.label} to show reconnecting`, async () => {
      const state = (await page.meshcall()).state;
      if (state !== 'joined' && state !== 'reconnecting') throw new Error(`state ${state}`);
      if (state !== 'reconnecting' || !await page.page.$('#status[data-state="reconnecting"]')) return false;
      seen[page.label] = Date.now() - stopped;
      return true;
    }, { timeout: SILENCE_MS + MARGIN_MS, interval: 250 })));
    fx.note(`reconnecting shown after ${JSON.stringify(seen)} ms`);

    // Media needed no server meanwhile.
    for (const page of [a, b]) {
      const gaps = await page.frameGaps();
      fx.note(`${page.label}: ${gaps.samples} samples, at most ${gaps.longestIntervalMs} ms apart; ` +
        JSON.stringify(gaps.peers));
      for (const [id, g] of Object.entries(gaps.peers)) {
        assert.ok(g.longestGapMs <= GAP_MS, `${page.label}: ${g.longestGapMs} ms without a frame from ${id}`);
      }
    }

    fx.server.signal('SIGCONT');
    const resumed = Date.now();
    fx.note('server running again (SIGCONT)');
    for (const page of [a, b]) {
      await waitFor(`${page.label} to be back in the room with its id`, async () => {
        const m = await page.meshcall();
        if (m.id !== page.id) throw new Error(`id ${m.id}, was ${page.id}`);
        return m.state === 'joined' && m.reconnects >= 1 &&
          await page.page.$('#status[data-state="joined"]');
      }, { timeout: Math.max(1000, resumed + BACK_MS - Date.now()) });
    }
    fx.note(`both back in the room ${Date.now() - resumed} ms after SIGCONT`);
    await waitFlowing('video both ways after the server came back', flowing, { timeout: 15000, growTimeout: 5000 });
    await b.say('after the hang');
    for (const page of [a, b]) {
      await waitFor(`${page.label} to show the second line`, async () =>
        (await page.chatShown()).includes('after the hang'));
      assert.deepEqual(await page.chatShown(), ['before the hang', 'after the hang'], `${page.label}'s chat log`);
      // The room's history survives only if a resume reached the server before
      // it noticed both old connections closed: an empty room is forgotten, and
      // its next line is seq 1 again. Either way no line shows twice.
      const texts = (await page.meshcall()).chat.map((l) => l.text);
      assert.equal(texts.at(-1), 'after the hang', `${page.label}'s chat model`);
      assert.equal(new Set(texts).size, texts.length, `${page.label}: a line twice: ${texts}`);
    }
  });
