// SPDX-License-Identifier: LGPL-2.1-or-later
// The same two-browsers-plus-meshcallbin room built in every join order
// (the joiner offers, so who offers to whom changes with the order).
import { expectFullMesh, roomTest, uniqueRoom } from './harness.mjs';

const orders = [
  ['pipeline first', ['peer', 'A', 'B']],
  ['browser first, pipeline in the middle', ['A', 'peer', 'B']],
  ['pipeline last', ['A', 'B', 'peer']],
];

roomTest('join order: every order of two browsers and a pipeline connects', { timeout: 240000 }, async (fx) => {
  for (const [label, order] of orders) {
    const room = uniqueRoom('order');
    const members = [];
    for (const who of order) {
      // Each joins only after the previous one is in: the order is real.
      members.push(who === 'peer' ? await fx.peer(room, 'gst-peer') : await fx.page(room, `page-${who}`));
    }
    await expectFullMesh(`${label}: media in all six directions`, members, { growTimeout: 6000 });
    fx.note(`${label} (${order.join(', ')}): media flowing both ways between all`);
    for (const m of members) {
      if (m.close) await m.close(); else await m.stop();
    }
  }
});
