// SPDX-License-Identifier: LGPL-2.1-or-later
// Chat both ways between a page and a meshcallbin, in seq order on both
// sides, and chat text is shown as text (never parsed as HTML).
import assert from 'node:assert/strict';
import { roomTest, uniqueRoom, waitFor } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';

roomTest('chat: both ways in order, HTML shown as text', async (fx) => {
  const room = uniqueRoom('chat');
  const a = await fx.page(room, 'Alice');
  const p = await fx.peer(room, 'gst-peer');
  await waitFor('Alice to see gst-peer', async () =>
    (await a.meshcall()).participants?.some((x) => x.id === p.id));

  // Interleaved: three lines each way, then the markup from both sides.
  const fromPage = ['hello from the browser', 'second line, ünïcødé ✓', 'third "quoted" & <b>bold</b>'];
  const fromPeer = ['hello from the pipeline', 'pipeline line 2', 'pipeline line 3 \\ backslash'];
  for (let i = 0; i < 3; i++) {
    await a.page.fill('#chat-input', fromPage[i]);
    await a.page.press('#chat-input', 'Enter');
    p.say(fromPeer[i]);
  }
  p.say(XSS);
  await a.page.fill('#chat-input', XSS);
  await a.page.press('#chat-input', 'Enter');
  const total = fromPage.length + fromPeer.length + 2;

  const pageChat = await waitFor(`${total} chat lines at Alice`, async () => {
    const c = (await a.meshcall()).chat ?? [];
    return c.length >= total ? c : null;
  });
  const peerChat = await waitFor(`${total} chat lines at gst-peer`, () =>
    p.chat().length >= total ? p.chat() : null);
  fx.note(`${total} lines on both sides`);

  // The same lines, numbered 1..n in order, on both sides.
  const norm = (l) => ({ seq: Number(l.seq), from: l.from, name: l.name, text: l.text });
  assert.deepEqual(pageChat.map(norm), peerChat.map(norm), 'the page and the pipeline saw different chat');
  assert.deepEqual(pageChat.map((l) => Number(l.seq)), [...Array(total).keys()].map((i) => i + 1));
  // Each author's lines in the order they were sent, with the right author.
  const by = (id) => pageChat.filter((l) => l.from === id).map((l) => l.text);
  assert.deepEqual(by(a.id), [...fromPage, XSS]);
  assert.deepEqual(by(p.id), [...fromPeer, XSS]);
  assert.ok(pageChat.filter((l) => l.from === p.id).every((l) => l.name === 'gst-peer'));

  // The DOM shows every line, in seq order, as text.
  const dom = await waitFor('every chat line in #chat-log', async () => {
    const lines = await a.page.$$eval('#chat-log .chat-line[data-seq]', (ls) => ls.map((l) => ({
      seq: Number(l.dataset.seq),
      name: l.querySelector('.chat-name')?.textContent ?? null,
      text: l.querySelector('.chat-text')?.textContent ?? null,
    })));
    return lines.length >= total ? lines : null;
  });
  assert.deepEqual(dom.map((l) => l.seq), pageChat.map((l) => Number(l.seq)), '#chat-log out of seq order');
  assert.deepEqual(dom.map((l) => l.text), pageChat.map((l) => l.text), '.chat-text differs from the text sent');
  for (const l of dom) {
    const author = pageChat.find((c) => Number(c.seq) === l.seq);
    assert.ok(l.name?.includes(author.name), `.chat-name "${l.name}" does not show "${author.name}"`);
  }

  // The markup stayed text: no element made of it, no script ran.
  assert.equal(await a.page.$$eval('#chat-log img, #chat-log b', (els) => els.length), 0,
    'chat text was parsed as HTML');
  // Give an onerror handler (had one been created) the time to fire: wait
  // until the page has answered a round-trip after a failed image load would.
  await a.page.evaluate(() => new Promise((resolve) => {
    const probe = new Image();
    probe.onerror = probe.onload = () => resolve();
    probe.src = '/no-such-image-' + Date.now();
  }));
  assert.deepEqual(a.dialogs, [], 'a dialog opened: chat text ran as script');
});
