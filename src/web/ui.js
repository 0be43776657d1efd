// SPDX-License-Identifier: LGPL-2.1-or-later
// The room page's DOM: tiles, chat log, status line, device pickers.
// Text from the network goes in through textContent only, never as markup.

const $ = id => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className)
    node.className = className;
  if (text !== undefined)
    node.textContent = text;
  return node;
}

// Starts a video element whether or not the browser lets it make sound yet.
function play(video) {
  const attempt = video.play();
  if (!attempt)
    return;
  attempt.catch(() => {
    if (video.muted || !video.srcObject)
      return;
    // Autoplay with sound was refused: play silently until the next click.
    video.muted = true;
    video.play().catch(() => {});
    document.addEventListener('click', () => { video.muted = false; }, {once: true});
  });
}

export function setStatus(state, text) {
  const status = $('status');
  status.dataset.state = state;
  $('status-text').textContent = text;
}

export function setMediaNote(text) {
  $('media-note').textContent = text;
}

function tileOf(id) {
  return $('tiles').querySelector(`.tile[data-peer-id="${CSS.escape(id)}"]`);
}

function makeTile(id) {
  const tile = el('figure', 'tile');
  tile.dataset.peerId = id;
  const video = el('video');
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute('playsinline', '');
  const caption = el('figcaption', 'tile-caption');
  const audioMark = el('span', 'muted-audio', 'mic off');
  audioMark.title = 'Microphone off';
  const videoMark = el('span', 'muted-video', 'camera off');
  videoMark.title = 'Camera off';
  caption.append(el('span', 'tile-name'), audioMark, videoMark, el('span', 'badge-state'));
  tile.append(video, caption);
  $('tiles').append(tile);
  return tile;
}

// peer: {id, name, audio, video, connectionState}; stream: the remote tracks.
export function showPeer(peer, stream) {
  const tile = tileOf(peer.id) || makeTile(peer.id);
  tile.querySelector('.tile-name').textContent = peer.name;
  tile.querySelector('.muted-audio').hidden = peer.audio;
  tile.querySelector('.muted-video').hidden = peer.video;
  const badge = tile.querySelector('.badge-state');
  badge.textContent = peer.connectionState;
  badge.dataset.state = peer.connectionState;
  tile.classList.toggle('no-video', !peer.video);
  const video = tile.querySelector('video');
  // Only once media flows: a stream that never delivers (a peer without
  // devices) would hold up the page's load event.
  if (stream && stream.getTracks().some(t => !t.muted) && video.srcObject !== stream) {
    video.srcObject = stream;
    play(video);
  }
}

export function removePeer(id) {
  const tile = tileOf(id);
  if (tile)
    tile.remove();
}

// The self tile: muted local preview of the camera, mirrored by the style sheet.
export function showSelf(name, videoTrack, audioOn, videoOn) {
  const tile = $('tiles').querySelector('.tile.self');
  tile.querySelector('.tile-name').textContent = name ? `${name} (you)` : 'You';
  tile.querySelector('.muted-audio').hidden = audioOn;
  tile.querySelector('.muted-video').hidden = videoOn;
  tile.classList.toggle('no-video', !videoOn);
  const video = tile.querySelector('video');
  const shown = video.srcObject ? video.srcObject.getVideoTracks()[0] : null;
  if (shown === (videoTrack || null))
    return;
  // A media element whose stream never delivers holds up the page's load
  // event: leave it empty rather than give it a stream without video.
  video.srcObject = videoTrack ? new MediaStream([videoTrack]) : null;
  if (videoTrack)
    play(video);
}

// Keeps the lines shown so far as plain text above a note, out of the
// .chat-line[data-seq] set (whose seq numbers the new room uses again).
export function setChatApart(note) {
  const log = $('chat-log');
  for (const line of log.querySelectorAll('.chat-line')) {
    line.className = 'chat-line-earlier';
    delete line.dataset.seq;
  }
  log.append(el('p', 'chat-note', note));
}

export function appendChat(line, ownId) {
  const log = $('chat-log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const row = el('div', 'chat-line');
  row.dataset.seq = String(line.seq);
  if (line.from === ownId)
    row.classList.add('own');
  const time = el('time', 'chat-time',
    new Date(line.ts || Date.now()).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}));
  row.append(time, el('span', 'chat-name', line.name), el('span', 'chat-text', line.text));
  log.append(row);
  if (atBottom)
    log.scrollTop = log.scrollHeight;
}

// Fills a device <select>; keeps it pointing at the device in use. emptyText
// names the first entry when no device is in use.
export function fillDevices(select, devices, currentId, noun, emptyText) {
  const options = devices.map((d, i) => {
    const option = el('option', '', d.label || `${noun} ${i + 1}`);
    option.value = d.deviceId;
    return option;
  });
  if (!currentId || !devices.length) {
    const none = el('option', '', emptyText);
    none.value = '';
    options.unshift(none);
  }
  select.replaceChildren(...options);
  select.disabled = !devices.length;
  select.value = currentId || '';
}

export function setMuteButton(button, kind, muted, available) {
  const noun = kind === 'audio' ? 'microphone' : 'camera';
  button.textContent = muted ? `Turn ${noun} on` : `Turn ${noun} off`;
  button.setAttribute('aria-pressed', String(muted));
  button.disabled = !available;
}
