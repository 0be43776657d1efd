// SPDX-License-Identifier: LGPL-2.1-or-later
// The room's peer connections. PeerLink is one RTCPeerConnection to one remote
// peer, following docs/protocol.md "Rooms and roles": the joiner offers,
// everyone else answers; one audio and one video transceiver, both sendrecv
// even without a local device; max-bundle, rtcp-mux; candidates that come
// before the remote description wait for it. Mesh holds one entry (one tile)
// per remote peer and applies "Keeping the call through failures": what still
// works is kept through a signaling outage, a failed connection is replaced
// by a new RTCPeerConnection, a peer the room no longer lists gets 15 s.

const KINDS = ['audio', 'video'];
// docs/protocol.md, "Reconnect".
const DISCONNECTED_LIMIT_MS = 5000;
// An offer whose answer has not come by then was lost (sent to a connection
// of the peer's that had died): the connection counts as failed.
const ANSWER_LIMIT_MS = 10000;
const RETRY_S = [1, 2, 4, 8, 16, 30];
// After a minute without an attempt, a new failure starts the back-off over.
const RETRY_FORGET_MS = 60000;
// docs/protocol.md, "Client rules".
const GRACE_MS = 15000;

export class PeerLink {
  // media: LocalMedia; send(msg): to the server, true when it went out;
  // counters: negotiation counts; onchange(): state or remote tracks changed;
  // onerror(text): plain words; onfailed(): the connection failed or stayed
  // disconnected too long (once).
  constructor(id, {iceServers, media, send, counters, onchange, onerror, onfailed}) {
    this.id = id;
    this.media = media;
    this.send = send;
    this.counters = counters;
    this.onchange = onchange;
    this.onerror = onerror;
    this.onfailed = onfailed;
    this.senders = {audio: null, video: null};
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.steps = Promise.resolve();  // signaling steps run one at a time
    this.closed = false;
    this.role = null;         // 'offerer' or 'answerer' once negotiation starts
    this.offerOut = false;    // our offer went out; its answer has not come
    this.negotiated = false;  // both descriptions set, and ours went out
    this.failed = false;
    this.disconnectedTimer = 0;
    this.answerTimer = 0;
    this.lastInbound = {videoFrames: 0, audioPackets: 0};

    this.pc = new RTCPeerConnection({
      iceServers: iceServers || [],
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.pc.addEventListener('icecandidate', e => this.sendCandidate(e.candidate));
    this.pc.addEventListener('track', e => {
      this.remoteStream.addTrack(e.track);
      e.track.addEventListener('unmute', () => onchange());  // media started flowing
      onchange();
    });
    for (const event of ['connectionstatechange', 'iceconnectionstatechange']) {
      this.pc.addEventListener(event, () => {
        this.watch();
        onchange();
      });
    }
  }

  get connectionState() { return this.pc.connectionState; }
  get iceConnectionState() { return this.pc.iceConnectionState; }

  // Worth keeping through a signaling outage: negotiated and not failed.
  get usable() { return this.negotiated && !this.failed && !this.closed; }

  // We offered this connection and it is still coming up: a `reconnect` from
  // the peer was sent before our offer reached it.
  get comingUp() {
    return this.role === 'offerer' && this.offerOut && !this.failed && !this.closed &&
      ['new', 'connecting'].includes(this.pc.connectionState);
  }

  // "failed", or "disconnected" for longer than the limit (docs/protocol.md,
  // "Reconnect"), in either the ICE or the overall state.
  watch() {
    if (this.closed || this.failed)
      return;
    const states = [this.pc.connectionState, this.pc.iceConnectionState];
    if (states.includes('failed')) {
      this.fail();
    } else if (!states.includes('disconnected')) {
      clearTimeout(this.disconnectedTimer);
      this.disconnectedTimer = 0;
    } else if (!this.disconnectedTimer) {
      this.disconnectedTimer = setTimeout(() => {
        this.disconnectedTimer = 0;
        if (!this.closed && [this.pc.connectionState, this.pc.iceConnectionState].includes('disconnected'))
          this.fail();
      }, DISCONNECTED_LIMIT_MS);
    }
  }

  fail() {
    if (this.failed)
      return;
    this.failed = true;
    clearTimeout(this.disconnectedTimer);
    clearTimeout(this.answerTimer);
    this.disconnectedTimer = 0;
    this.onchange();
    this.onfailed();
  }

  sendCandidate(candidate) {
    if (this.closed)
      return;
    if (candidate && candidate.candidate === '')
      return;  // some browsers announce the end twice; the null event below is enough
    if (!candidate) {
      const first = this.pc.getTransceivers()[0];
      const end = {type: 'candidate', to: this.id, candidate: '', sdpMLineIndex: 0};
      if (first && first.mid !== null)
        end.sdpMid = first.mid;
      this.send(end);
      return;
    }
    const msg = {
      type: 'candidate', to: this.id, candidate: candidate.candidate,
      sdpMLineIndex: candidate.sdpMLineIndex ?? 0,
    };
    if (candidate.sdpMid !== null && candidate.sdpMid !== undefined)
      msg.sdpMid = candidate.sdpMid;
    this.send(msg);
  }

  step(what, fn) {
    this.steps = this.steps.then(() => (this.closed ? undefined : fn())).catch(e => {
      if (!this.closed)
        this.onerror(`${what} failed: ${e.message || e}`);
    });
    return this.steps;
  }

  offer() {
    this.role = 'offerer';
    return this.step('Calling a peer', async () => {
      for (const kind of KINDS) {
        const track = this.media.tracks[kind];
        const transceiver = this.pc.addTransceiver(track || kind, {direction: 'sendrecv'});
        this.senders[kind] = transceiver.sender;
      }
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.offerOut = this.send({type: 'offer', to: this.id, sdp: this.pc.localDescription.sdp});
      this.counters.offersSent++;
      if (this.offerOut) {
        this.answerTimer = setTimeout(() => {
          if (this.offerOut && !this.closed)
            this.fail();
        }, ANSWER_LIMIT_MS);
      }
    });
  }

  answer(sdp) {
    this.role = 'answerer';
    this.counters.offersReceived++;
    return this.step('Answering a peer', async () => {
      await this.pc.setRemoteDescription({type: 'offer', sdp});
      // The offer made the transceivers; send on the first one of each kind.
      for (const transceiver of this.pc.getTransceivers()) {
        const kind = transceiver.receiver.track.kind;
        if (this.senders[kind])
          continue;
        transceiver.direction = 'sendrecv';
        this.senders[kind] = transceiver.sender;
        const track = this.media.tracks[kind];
        if (track)
          await transceiver.sender.replaceTrack(track);
      }
      await this.flushCandidates();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.negotiated = this.send({type: 'answer', to: this.id, sdp: this.pc.localDescription.sdp});
      this.counters.answersSent++;
    });
  }

  // Only the answer to our own offer, once: an answer meant for a connection
  // we replaced meanwhile would not fit this one.
  accept(sdp) {
    if (!this.offerOut)
      return;
    this.offerOut = false;
    clearTimeout(this.answerTimer);
    this.counters.answersReceived++;
    this.step('Connecting to a peer', async () => {
      await this.pc.setRemoteDescription({type: 'answer', sdp});
      await this.flushCandidates();
      this.negotiated = true;
    });
  }

  addCandidate(msg) {
    const init = {candidate: msg.candidate, sdpMLineIndex: msg.sdpMLineIndex};
    if (typeof msg.sdpMid === 'string')
      init.sdpMid = msg.sdpMid;
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(init);
      return;
    }
    this.step('Adding a network path', () => this.applyCandidate(init));
  }

  async flushCandidates() {
    const waiting = this.pendingCandidates.splice(0);
    for (const init of waiting)
      await this.applyCandidate(init);
  }

  async applyCandidate(init) {
    try {
      await this.pc.addIceCandidate(init);
    } catch (e) {
      // A candidate the browser cannot use (or a second end-of-candidates, or
      // one of a connection the peer replaced) only loses that one path.
      console.debug('meshcall: candidate ignored', init, e);
    }
  }

  sender(kind) { return this.senders[kind]; }

  // Asks the receivers only: a whole connection's report (every candidate
  // pair, certificates, ...) costs more, several times a second.
  async inbound() {
    let videoFrames = 0;
    let audioPackets = 0;
    const reports = await Promise.all(this.pc.getReceivers().map(r => r.getStats()));
    for (const report of reports) {
      report.forEach(r => {
        if (r.type !== 'inbound-rtp')
          return;
        if (r.kind === 'video')
          videoFrames += r.framesDecoded || 0;
        else if (r.kind === 'audio')
          audioPackets += r.packetsReceived || 0;
      });
    }
    if (!this.closed)
      this.lastInbound = {videoFrames, audioPackets};
    return {videoFrames, audioPackets};
  }

  close() {
    this.closed = true;
    clearTimeout(this.disconnectedTimer);
    clearTimeout(this.answerTimer);
    this.pendingCandidates = [];
    this.pc.close();
    for (const track of this.remoteStream.getTracks())
      this.remoteStream.removeTrack(track);
  }
}

// The remote peers of the room, one entry each: {id, name, audio, video,
// link, connections (RTCPeerConnections made so far), ...}. An entry, and its
// tile, lasts from the peer's arrival to its departure; links come and go
// under it.
export class Mesh {
  // send(msg): to the server, true when it went out; inRoom(): whether the
  // room can be talked to now; selfId(): our id; onshow(entry): a tile to
  // draw; onremove(id): a tile to remove; onerror(entry, text);
  // onevent(type, id): for window.meshcall.events.
  constructor({media, send, counters, inRoom, selfId, onshow, onremove, onerror, onevent}) {
    this.media = media;
    this.send = send;
    this.counters = counters;
    this.inRoom = inRoom;
    this.selfId = selfId;
    this.onshow = onshow;
    this.onremove = onremove;
    this.onerror = onerror;
    this.onevent = onevent;
    this.peers = new Map();
    this.iceServers = [];
  }

  get(id) { return this.peers.get(id); }
  entries() { return [...this.peers.values()]; }

  // After a welcome. `resumed`: it gave us our previous id back, so the
  // others may still hold their connections to us (docs/protocol.md,
  // "Client rules"); otherwise every connection we have is stale.
  welcome(list, resumed) {
    if (!resumed)
      this.clear();
    const listed = new Set();
    for (const peer of list) {
      if (!peer || typeof peer.id !== 'string')
        continue;
      listed.add(peer.id);
      const entry = this.update(this.peers.get(peer.id) ?? this.add(peer.id), peer);
      this.confirm(entry);
      if (!entry.link.usable)
        this.call(entry);  // the joiner offers
    }
    for (const entry of this.peers.values()) {
      if (!listed.has(entry.id))
        this.startGrace(entry);
    }
  }

  // peer-joined: new, or back after a resume. A connection that has not
  // failed stays; otherwise the joiner offers and we answer.
  peerJoined(peer) {
    if (!peer || typeof peer.id !== 'string')
      return;
    let entry = this.peers.get(peer.id);
    if (!entry)
      entry = this.add(peer.id);
    else if (entry.link.failed)
      this.replace(entry);
    this.stopRetry(entry);
    this.confirm(entry);
    this.update(entry, peer);
  }

  peerMedia(msg) {
    const entry = this.peers.get(msg.id);
    if (entry)
      this.update(entry, {name: entry.name, audio: msg.audio, video: msg.video});
  }

  // An offer for a connection we already have replaces it: that is how the
  // peer rebuilds a failed one, and how two sides that disagree converge.
  // Except when it crossed our own offer, still unanswered (both sides
  // offered at once: after a resume, say): replacing on both sides would
  // leave each answering an offer the other has dropped. Then the lower id
  // keeps its offer and the higher one answers it, so one offer survives.
  offer(from, sdp) {
    const entry = this.peers.get(from) ?? this.add(from);
    const ours = entry.link;
    if (ours.role === 'offerer' && ours.offerOut && !ours.failed && this.selfId() < from) {
      this.onevent('offer-crossed', from);
      return;
    }
    if (entry.link.role !== null)
      this.replace(entry);
    this.confirm(entry);
    this.stopRetry(entry);
    entry.link.answer(sdp);
  }

  answer(from, sdp) {
    this.peers.get(from)?.link.accept(sdp);
  }

  // Candidates may come before the offer (and before peer-joined).
  candidate(msg) {
    (this.peers.get(msg.from) ?? this.add(msg.from)).link.addCandidate(msg);
  }

  // The peer's side of our connection failed: we offer a new one, unless the
  // one we offered last is still coming up (the request crossed our offer).
  reconnect(from) {
    const entry = this.peers.get(from);
    if (!entry)
      return;
    this.onevent('reconnect-received', from);
    this.confirm(entry);
    if (!entry.link.comingUp)
      this.call(entry);
  }

  remove(id) {
    const entry = this.peers.get(id);
    if (!entry)
      return;
    clearTimeout(entry.graceTimer);
    clearTimeout(entry.retry.timer);
    entry.link.close();
    this.peers.delete(id);
    this.onremove(id);
    this.onevent('peer-left', id);
  }

  clear() {
    for (const id of [...this.peers.keys()])
      this.remove(id);
  }

  // Media received from the entry's peer over all its connections so far.
  async inbound(entry) {
    const now = await entry.link.inbound();
    return {
      videoFrames: entry.base.videoFrames + now.videoFrames,
      audioPackets: entry.base.audioPackets + now.audioPackets,
    };
  }

  // ---- inside ----

  add(id) {
    const entry = {
      id, name: '', audio: true, video: true, link: null, connections: 0,
      base: {videoFrames: 0, audioPackets: 0}, graceTimer: 0,
      retry: {attempts: 0, lastAt: 0, timer: 0},
    };
    entry.link = this.makeLink(entry);
    this.peers.set(id, entry);
    this.onevent('peer-joined', id);
    return entry;
  }

  makeLink(entry) {
    entry.connections++;
    const link = new PeerLink(entry.id, {
      iceServers: this.iceServers,
      media: this.media,
      send: this.send,
      counters: this.counters,
      onchange: () => this.onshow(entry),
      onerror: text => this.onerror(entry, text),
      onfailed: () => this.failed(entry, link),
    });
    return link;
  }

  update(entry, peer) {
    entry.name = String(peer.name ?? '');
    entry.audio = peer.audio !== false;
    entry.video = peer.video !== false;
    this.onshow(entry);
    return entry;
  }

  // A new RTCPeerConnection for the same peer and tile: no peer-left, no
  // peer-joined. The counts of the old one carry over.
  replace(entry) {
    const old = entry.link;
    entry.base = {
      videoFrames: entry.base.videoFrames + old.lastInbound.videoFrames,
      audioPackets: entry.base.audioPackets + old.lastInbound.audioPackets,
    };
    old.close();
    entry.link = this.makeLink(entry);
    this.onevent('new-connection', entry.id);
    this.onshow(entry);
  }

  // We offer, on a new connection unless this one has not started yet.
  call(entry) {
    if (entry.link.role !== null)
      this.replace(entry);
    this.stopRetry(entry);
    entry.link.offer();
  }

  startGrace(entry) {
    if (entry.graceTimer)
      return;
    entry.graceTimer = setTimeout(() => {
      entry.graceTimer = 0;
      if (this.peers.get(entry.id) !== entry)
        return;
      this.onevent('grace-ended', entry.id);
      this.remove(entry.id);
    }, GRACE_MS);
  }

  confirm(entry) {
    clearTimeout(entry.graceTimer);
    entry.graceTimer = 0;
  }

  failed(entry, link) {
    if (entry.link !== link || this.peers.get(entry.id) !== entry)
      return;
    this.onevent('connection-failed', entry.id);
    this.scheduleRetry(entry);
  }

  scheduleRetry(entry) {
    const r = entry.retry;
    if (r.timer)
      return;
    if (r.lastAt && Date.now() - r.lastAt > RETRY_FORGET_MS)
      r.attempts = 0;
    const delay = RETRY_S[Math.min(r.attempts, RETRY_S.length - 1)];
    r.attempts++;
    r.timer = setTimeout(() => {
      r.timer = 0;
      r.lastAt = Date.now();
      this.retry(entry);
    }, delay * 1000);
  }

  // Cancels a pending attempt; the back-off goes on from where it was.
  stopRetry(entry) {
    clearTimeout(entry.retry.timer);
    entry.retry.timer = 0;
  }

  // The side that offered the failed connection offers a new one; the side
  // that answered asks it to, and asks again later unless its offer came.
  // Without the server, the next welcome sees to it (a failed connection is
  // not usable).
  retry(entry) {
    if (this.peers.get(entry.id) !== entry || !entry.link.failed || !this.inRoom())
      return;
    if (entry.link.role === 'offerer') {
      this.call(entry);
      return;
    }
    if (this.send({type: 'reconnect', to: entry.id}))
      this.onevent('reconnect-sent', entry.id);
    this.scheduleRetry(entry);
  }
}
