// SPDX-License-Identifier: LGPL-2.1-or-later
// A room whose history holds 50 of the largest chat lines a client may send,
// of a character the server writes as a 6-byte escape: the welcome stays
// under 768 KiB (docs/protocol.md, "Precise rules") and a page joins it with
// the whole kept history, newest line last.
import assert from 'node:assert/strict';
import { roomTest, uniqueRoom, waitFor } from './harness.mjs';

roomTest('chat history: a page joins a room full of the largest lines',
  { serverArgs: ['--chat-rate', '1000', '--chat-burst', '1000'] }, async (fx) => {
    const room = uniqueRoom('history');
    const writer = await fx.page(room, 'Writer');
    // The largest line: 4,000 characters as sent, 2,000 after trimming.
    const line = '\u2028'.repeat(1000) + 'x' + '\u2028'.repeat(1998) + 'x' + '\u2028'.repeat(1000);
    // A raw socket from the writer's page sends the 50 lines and waits for
    // their echoes, so the history is complete before the reader joins.
    await writer.page.evaluate(async ({ room, line }) => {
      const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
      await new Promise((resolve, reject) => {
        let echoes = 0;
        socket.onerror = () => reject(new Error('the raw socket failed'));
        socket.onopen = () => socket.send(JSON.stringify({ type: 'join', room, name: 'raw writer' }));
        socket.onmessage = (e) => {
          const m = JSON.parse(e.data);
          if (m.type === 'welcome') {
            for (let i = 0; i < 50; i++) socket.send(JSON.stringify({ type: 'chat', text: line }));
          } else if (m.type === 'chat' && ++echoes === 50) {
            resolve();
          } else if (m.type === 'error') {
            reject(new Error(`refused: ${e.data.slice(0, 200)}`));
          }
        };
      });
      window.rawWriter = socket; // stays in the room
    }, { room, line });
    const reader = await fx.page(room, 'Reader');
    const m = await waitFor('the whole kept history at the reader', async () => {
      const m = await reader.meshcall();
      const chat = m?.chat ?? [];
      return m?.state === 'joined' && chat.length && chat[chat.length - 1].seq === 50 ? m : null;
    }, { timeout: 20000 });
    const seqs = m.chat.map((l) => l.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'history out of order');
    assert.equal(m.chat[m.chat.length - 1].text, line);
    assert.ok(m.chat.length < 50, `all 50 lines kept: the welcome cannot have been under 768 KiB`);
    fx.note(`the reader got ${m.chat.length} of 50 lines, newest last`);
  });
