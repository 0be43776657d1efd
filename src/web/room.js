// SPDX-License-Identifier: LGPL-2.1-or-later
// The room page: signaling over /ws (docs/protocol.md), the peers (peers.js),
// chat, mute, device switching, rejoining with resume, and window.meshcall.

import {LocalMedia} from './media.js';
import {Mesh} from './peers.js';
import * as ui from './ui.js';

const PING_MS = 15000;
// A server silent this long is taken for lost, as a closed socket is: a hung
// server or a dead path can leave the TCP connection open for minutes. Every
// message counts, and our pings draw a pong at least every PING_MS. A
// connection that has not opened by then is given up the same way.
const SILENCE_MS = 20000;
const STATS_MS = 500;
// Rejoining: 0.5 s doubling to 5 s (docs/protocol.md, "Resume").
const BACKOFF_S = [0.5, 1, 2, 4, 5];
const EVENTS_KEPT = 200;
const NAME_KEY = 'meshcall.name';

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);

const room = decodeURIComponent(location.pathname.replace(/^\/r\//, ''));
const media = new LocalMedia();
const session = {
  state: 'idle', id: null, name: null, capacity: null, error: null,
  resume: null,  // the last welcome.resume, sent with the next join
  inbound: {},
  negotiation: {offersSent: 0, offersReceived: 0, answersSent: 0, answersReceived: 0},
  chat: [],
  lastChat: {ts: -Infinity, seq: 0},  // the newest line shown
  reconnects: 0,  // welcomes after losing the server
  resumes: 0,     // of those, welcomes that gave our id back
  events: [],     // what happened to peers and connections, for window.meshcall
};
const mesh = new Mesh({
  media,
  send,
  counters: session.negotiation,
  inRoom: () => session.state === 'joined',
  selfId: () => session.id,
  onshow: showPeer,
  onremove: id => {
    delete session.inbound[id];
    ui.removePeer(id);
  },
  onerror: (entry, text) => ui.setStatus(session.state, `${text} (with ${entry.name || 'a peer'})`),
  onevent: (type, id) => {
    session.events.push({ts: Date.now(), type, id});
    if (session.events.length > EVENTS_KEPT)
      session.events.splice(0, session.events.length - EVENTS_KEPT);
  },
});
let ws = null;
let resumeSent = false;  // the join on this socket carried session.resume
let pingTimer = 0;
let silenceTimer = 0;
let lastHeard = 0;
let retryTimer = 0;
let retries = 0;
let everJoined = false;  // a welcome came since the user pressed Join
let lostAfterJoin = false;

// ---- status ------------------------------------------------------------

function setState(state, text) {
  session.state = state;
  ui.setStatus(state, text);
  const busy = state === 'joining' || state === 'joined' || state === 'reconnecting';
  $('join').hidden = busy;
  $('leave').hidden = !busy;
  $('name').disabled = busy;
  $('chat-input').disabled = state !== 'joined';
  $('chat-send').disabled = state !== 'joined';
}

function roomFullText(capacity) {
  const people = capacity ? `${capacity} ${capacity === 1 ? 'person' : 'people'}` : 'no space left';
  return `This room is full (${people}). Try again later or use another room.`;
}

// The number for "room full" when neither a welcome nor the message told it.
async function explainRoomFull() {
  try {
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}`);
    const info = res.ok ? await res.json() : null;
    if (info && session.state === 'error' && session.error?.code === 'room-full')
      ui.setStatus('error', roomFullText(info.capacity));
  } catch (e) { /* the text without the number stays */ }
}

function explainError(code, message) {
  switch (code) {
  case 'room-full': {
    const said = /capacity (\d+)/.exec(message);
    return roomFullText(session.capacity ?? (said ? Number(said[1]) : null));
  }
  case 'unauthorized':
    return 'You are not allowed into this room: the invitation link is missing its ' +
      'token, or the token has expired. Ask for a new link.';
  case 'invalid-name':
    return 'Please enter a name of 1 to 64 characters (no control characters).';
  case 'invalid-room':
    return 'This room name is not valid: use 1 to 64 letters, digits, "-" or "_".';
  case 'rate-limited':
    return 'You are sending too fast; that was not sent. Wait a moment.';
  case 'bad-message':
    return `The server refused a message: ${message}`;
  default:
    return `The server said: ${message || code}`;
  }
}

// ---- signaling ------------------------------------------------------------

// True when the message went out. Before the welcome only join and ping may.
function send(msg) {
  if (!ws || ws.readyState !== WebSocket.OPEN)
    return false;
  if (session.state !== 'joined' && msg.type !== 'join' && msg.type !== 'ping')
    return false;
  ws.send(JSON.stringify(msg));
  return true;
}

function connect() {
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  clearInterval(silenceTimer);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const socket = new WebSocket(url);
  ws = socket;
  lastHeard = Date.now();
  silenceTimer = setInterval(() => {
    if (socket === ws && Date.now() - lastHeard > SILENCE_MS) {
      lost();  // ws is cleared first, so this socket's late close is ignored
      socket.close();
    }
  }, 1000);
  socket.addEventListener('open', () => {
    const join = {type: 'join', room};
    const token = params.get('token');
    const name = $('name').value.trim();
    // A token's name claim may stand in for the name (docs/protocol.md, "Tokens").
    if (name || !token)
      join.name = name;
    if (token)
      join.token = token;
    resumeSent = !!session.resume;
    if (resumeSent)
      join.resume = session.resume;
    send(join);
    pingTimer = setInterval(() => send({type: 'ping'}), PING_MS);
    lastHeard = Date.now();
  });
  socket.addEventListener('message', e => {
    if (socket !== ws)
      return;
    lastHeard = Date.now();
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch (err) {
      return;
    }
    if (msg && typeof msg.type === 'string')
      handle(msg);
  });
  socket.addEventListener('close', () => {
    if (socket === ws)
      lost();
  });
}

// The socket closed without us asking: come back, asking for our id again.
// The calls go on meanwhile: media goes from peer to peer (docs/protocol.md,
// "Client rules").
function lost() {
  clearInterval(pingTimer);
  clearInterval(silenceTimer);
  ws = null;
  if (session.state !== 'joining' && session.state !== 'joined' &&
      session.state !== 'reconnecting')
    return;
  if (session.state === 'joined')
    lostAfterJoin = true;
  const delay = BACKOFF_S[Math.min(retries, BACKOFF_S.length - 1)];
  retries++;
  setState('reconnecting', everJoined
    ? 'Connection to the server lost — reconnecting. Calls in progress go on.'
    : 'Cannot reach the server — retrying…');
  retryTimer = setTimeout(connect, delay * 1000);
}

// Ends the session on purpose (Leave, a refused join, leaving the page).
function disconnect(sayLeave) {
  clearInterval(pingTimer);
  clearInterval(silenceTimer);
  clearTimeout(retryTimer);
  const socket = ws;
  ws = null;
  if (socket) {
    if (sayLeave && socket.readyState === WebSocket.OPEN)
      socket.send(JSON.stringify({type: 'leave'}));
    socket.close(1000);
  }
  session.resume = null;  // after a deliberate leave, a join is a fresh one
  mesh.clear();
}

function handle(msg) {
  switch (msg.type) {
  case 'welcome': return onWelcome(msg);
  case 'peer-joined': return mesh.peerJoined(msg.peer);
  case 'peer-left': return mesh.remove(msg.id);
  case 'peer-media': return mesh.peerMedia(msg);
  case 'offer': return mesh.offer(msg.from, msg.sdp);
  case 'answer': return mesh.answer(msg.from, msg.sdp);
  case 'candidate': return mesh.candidate(msg);
  case 'reconnect': return mesh.reconnect(msg.from);
  case 'chat': return onChat(msg);
  case 'error': return onError(msg);
  default: return undefined;  // pong, and whatever a later protocol adds
  }
}

function onWelcome(msg) {
  // Our id back: the others may still hold their connections to us.
  const resumed = resumeSent && session.id !== null && msg.id === session.id;
  session.id = msg.id;
  session.name = msg.name;
  session.capacity = msg.capacity;
  session.resume = typeof msg.resume === 'string' ? msg.resume : null;
  mesh.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
  retries = 0;
  if (lostAfterJoin) {
    session.reconnects++;
    if (resumed)
      session.resumes++;
  }
  lostAfterJoin = false;
  everJoined = true;
  setState('joined', `You are in room ${msg.room} as ${msg.name}.`);
  for (const line of Array.isArray(msg.history) ? msg.history : [])
    onChat(line);
  refreshSelf();
  // Peers assume a newcomer has camera and microphone on; say otherwise.
  if (!media.sending('audio') || !media.sending('video'))
    sendMediaState();
  // The joiner offers (docs/protocol.md, "Rooms and roles"), except where a
  // connection survived the outage ("Client rules").
  mesh.welcome(Array.isArray(msg.peers) ? msg.peers : [], resumed);
}

function showPeer(entry) {
  if (mesh.get(entry.id) !== entry)
    return;
  ui.showPeer(plainPeer(entry), entry.link.remoteStream);
}

function onError(msg) {
  const code = String(msg.code || 'error');
  const message = String(msg.message || '');
  session.error = {code, message};
  const text = explainError(code, message);
  const joining = session.state === 'joining' || session.state === 'reconnecting';
  if (msg.ref === 'join' ||
      (joining && ['room-full', 'unauthorized', 'invalid-name', 'invalid-room'].includes(code))) {
    // A refused join needs the user: never retry on our own.
    disconnect(false);
    setState('error', text);
    if (code === 'room-full' && !/\d/.test(text))
      explainRoomFull();
    return;
  }
  // A peer that left while our message was on its way: peer-left follows.
  if (code !== 'unknown-peer')
    ui.setStatus(session.state, text);
}

// ---- chat ------------------------------------------------------------

function chatLine(msg) {
  return {seq: msg.seq, from: String(msg.from ?? ''), name: String(msg.name ?? ''),
    text: String(msg.text ?? ''), ts: msg.ts};
}

// A welcome after a reconnect repeats lines we have shown (the same server:
// the same seq and ts) or holds only newer ones (a restarted server: seq
// starts at 1 again, its clock went on). So a line not newer than the last
// one shown, by ts then seq, is skipped.
function onChat(msg) {
  const ts = Number(msg.ts) || 0;
  const seq = Number(msg.seq) || 0;
  const last = session.lastChat;
  if (ts < last.ts || (ts === last.ts && seq <= last.seq))
    return;
  if (seq <= last.seq) {
    // The room was made anew: the old lines stay on screen, set apart, and
    // the new room's count.
    session.chat = [];
    ui.setChatApart('The room started afresh; the lines above are from before.');
  }
  session.lastChat = {ts, seq};
  const line = chatLine(msg);
  session.chat.push(line);
  ui.appendChat(line, session.id);
}

// ---- local media ------------------------------------------------------------

function sendMediaState() {
  send({type: 'media', audio: media.sending('audio'), video: media.sending('video')});
}

// What a device picker says while no device of its kind is in use.
function pickerNote(kind, noun) {
  if (!media.starting)
    return 'choose after joining';
  return media.devices[kind].length ? `no ${noun} in use` : `no ${noun} found`;
}

function refreshSelf() {
  ui.showSelf(session.name || $('name').value.trim(), media.tracks.video,
    media.sending('audio'), media.sending('video'));
  ui.setMuteButton($('mute-audio'), 'audio', media.muted.audio, !!media.tracks.audio);
  ui.setMuteButton($('mute-video'), 'video', media.muted.video, !!media.tracks.video);
  ui.fillDevices($('camera-select'), media.devices.video, media.deviceId('video'), 'Camera',
    pickerNote('video', 'camera'));
  ui.fillDevices($('mic-select'), media.devices.audio, media.deviceId('audio'), 'Microphone',
    pickerNote('audio', 'microphone'));
  ui.setMediaNote(media.note);
}

function toggleMute(kind) {
  media.setMuted(kind, !media.muted[kind]);
  sendMediaState();
}

async function switchDevice(kind, deviceId) {
  if (!deviceId)
    return;
  const hadTrack = !!media.tracks[kind];
  try {
    await media.switchDevice(kind, deviceId,
      () => mesh.entries().map(p => p.link.sender(kind)).filter(Boolean));
    if (!hadTrack)
      sendMediaState();
  } catch (e) {
    const noun = kind === 'video' ? 'camera' : 'microphone';
    refreshSelf();
    ui.setMediaNote(`Could not switch to that ${noun}` +
      (hadTrack ? '; the previous one stays on.' : '.'));
  }
}

// ---- actions ------------------------------------------------------------

async function join() {
  if (session.state === 'joining' || session.state === 'joined' ||
      session.state === 'reconnecting')
    return;
  const name = $('name').value.trim();
  $('name').value = name;
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch (e) { /* private mode: the name is just not remembered */ }
  session.error = null;
  everJoined = false;
  lostAfterJoin = false;
  retries = 0;
  setState('joining', 'Starting camera and microphone…');
  await media.start();
  refreshSelf();
  if (session.state !== 'joining')
    return;  // left meanwhile
  ui.setStatus('joining', `Joining room ${room}…`);
  connect();
}

function leave() {
  disconnect(true);
  setState('idle', 'You left the room. Press Join to come back.');
}

async function copyInvite() {
  const link = `${location.origin}/r/${room}`;
  const field = $('invite-link');
  field.value = link;
  try {
    await navigator.clipboard.writeText(link);
    ui.setStatus(session.state, 'Invite link copied. Paste it to whoever you want to invite.');
  } catch (e) {
    $('invite').hidden = false;
    field.focus();
    field.select();
    ui.setStatus(session.state, 'Copy the invite link from the field below the buttons.');
  }
}

// ---- stats ------------------------------------------------------------

// Media received per peer, counted over all its connections so far.
async function inboundNow() {
  const out = {};
  for (const entry of mesh.entries()) {
    try {
      const counts = await mesh.inbound(entry);
      if (mesh.get(entry.id) === entry)
        out[entry.id] = counts;
    } catch (e) { /* closed meanwhile */ }
  }
  return out;
}

let polling = false;

async function pollStats() {
  if (polling)
    return;
  polling = true;
  try {
    session.inbound = await inboundNow();
  } finally {
    polling = false;
  }
}

// ---- window.meshcall: a read-only view for tests and debugging ----

function plainPeer(p) {
  return {id: p.id, name: p.name, audio: p.audio, video: p.video,
    connectionState: p.link.connectionState, iceConnectionState: p.link.iceConnectionState,
    role: p.link.role, failed: p.link.failed, connections: p.connections};
}

function frozen(value) {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(frozen);
    Object.freeze(value);
  }
  return value;
}

const view = {
  get state() { return session.state; },
  get id() { return session.id; },
  get room() { return room; },
  get name() { return session.name; },
  get capacity() { return session.capacity; },
  get error() { return frozen(session.error && {...session.error}); },
  get participants() { return frozen(mesh.entries().map(plainPeer)); },
  get inbound() {
    return frozen(Object.fromEntries(Object.entries(session.inbound).map(([k, v]) => [k, {...v}])));
  },
  get negotiation() { return frozen({...session.negotiation}); },
  get local() { return frozen(media.describe()); },
  get chat() {
    return frozen(session.chat.map(l => ({seq: l.seq, from: l.from, name: l.name, text: l.text})));
  },
  get reconnects() { return session.reconnects; },
  get resumes() { return session.resumes; },
  // [{ts, type, id}]: peer-joined and peer-left (a tile added or removed),
  // new-connection, connection-failed, reconnect-sent, reconnect-received,
  // offer-crossed (one ignored for ours), grace-ended; the latest EVENTS_KEPT.
  get events() { return frozen(session.events.map(e => ({...e}))); },
  // Fresh counts, as in inbound, without waiting for the next poll.
  async inboundNow() { return frozen(await inboundNow()); },
};
Object.defineProperty(window, 'meshcall', {value: Object.freeze(view), enumerable: true});

// ---- wiring ------------------------------------------------------------

function init() {
  let stored = '';
  try {
    stored = localStorage.getItem(NAME_KEY) || '';
  } catch (e) { /* no storage */ }
  $('name').value = params.get('name') ?? stored;
  $('room-name').textContent = room;
  $('invite-link').value = `${location.origin}/r/${room}`;

  media.onchange = refreshSelf;
  $('join-form').addEventListener('submit', e => { e.preventDefault(); join(); });
  $('leave').addEventListener('click', leave);
  $('mute-audio').addEventListener('click', () => toggleMute('audio'));
  $('mute-video').addEventListener('click', () => toggleMute('video'));
  $('camera-select').addEventListener('change', e => switchDevice('video', e.target.value));
  $('mic-select').addEventListener('change', e => switchDevice('audio', e.target.value));
  $('copy-link').addEventListener('click', copyInvite);
  $('chat-form').addEventListener('submit', e => {
    e.preventDefault();
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text || session.state !== 'joined')
      return;
    send({type: 'chat', text});
    input.value = '';  // the server's echo puts the line in the log
  });
  window.addEventListener('pagehide', () => disconnect(true));
  setInterval(pollStats, STATS_MS);

  setState('idle', 'Enter your name and press Join.');
  refreshSelf();
  if (params.get('autojoin') === '1')
    join();
}

init();
