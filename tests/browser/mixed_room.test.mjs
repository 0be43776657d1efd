// SPDX-License-Identifier: LGPL-2.1-or-later
// Two Chromium pages and one meshcallbin pipeline in one room: everybody
// receives everybody's video and audio. Also writes the three-way screenshot.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ensureArtifactDir, expectFullMesh, roomTest, uniqueRoom, waitFor } from './harness.mjs';

const PEER_GREEN = [0x10, 0xc0, 0x10]; // meshcall-test-peer's solid colour

roomTest('mixed room: two browsers and a meshcallbin see and hear each other', async (fx) => {
  const room = uniqueRoom('mixed');
  const a = await fx.page(room, 'Alice');
  const b = await fx.page(room, 'Bob');
  const p = await fx.peer(room, 'gst-peer');
  fx.note(`joined: Alice ${a.id}, Bob ${b.id}, gst-peer ${p.id}`);

  // Page inbound counters come from getStats, the peer's from get-stats:
  // both grow for both directions of all three pairs.
  await expectFullMesh('media in all six directions', [a, b, p]);
  fx.note('media flowing in all six directions');

  // Each page: a self tile and a named tile per remote participant, and the
  // pipeline's tile shows its green test pattern.
  for (const [page, others] of [[a, [[b, 'Bob'], [p, 'gst-peer']]], [b, [[a, 'Alice'], [p, 'gst-peer']]]]) {
    await page.page.waitForSelector('#tiles .tile.self', { timeout: 5000 });
    for (const [other, name] of others) {
      const tileName = await page.page.textContent(`#tiles .tile[data-peer-id="${other.id}"] .tile-name`);
      assert.match(tileName, new RegExp(name), `${page.label}: tile of ${name} is named "${tileName}"`);
    }
    const colour = await waitFor(`${page.label} to show gst-peer's green`, async () => {
      const c = await page.tileColour(p.id);
      return c && c.every((v, i) => Math.abs(v - PEER_GREEN[i]) < 40) ? c : null;
    }, { timeout: 5000 });
    fx.note(`${page.label}: gst-peer's tile is rgb(${colour})`);
  }

  const shot = path.join(ensureArtifactDir(), 'three-way.png');
  await a.page.screenshot({ path: shot });
  fx.note(`screenshot: ${shot}`);
});
