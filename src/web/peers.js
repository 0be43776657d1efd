// SPDX-License-Identifier: LGPL-2.1-or-later
// One RTCPeerConnection to one remote peer, following docs/protocol.md "Rooms and
// roles": the joiner offers, everyone else answers; one audio and one video
// transceiver, both sendrecv even without a local device; max-bundle, rtcp-mux;
// candidates that come before the remote description wait for it.

const KINDS = ['audio', 'video'];

export class PeerLink {
  // media: LocalMedia; send(msg): to the server; counters: negotiation counts;
  // onchange(): state or remote tracks changed; onerror(text): plain words.
  constructor(id, {iceServers, media, send, counters, onchange, onerror}) {
    this.id = id;
    this.media = media;
    this.send = send;
    this.counters = counters;
    this.onerror = onerror;
    this.senders = {audio: null, video: null};
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.steps = Promise.resolve();  // signaling steps run one at a time
    this.closed = false;

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
    this.pc.addEventListener('connectionstatechange', () => onchange());
  }

  get connectionState() { return this.pc.connectionState; }

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
    return this.step('Calling a peer', async () => {
      for (const kind of KINDS) {
        const track = this.media.tracks[kind];
        const transceiver = this.pc.addTransceiver(track || kind, {direction: 'sendrecv'});
        this.senders[kind] = transceiver.sender;
      }
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.send({type: 'offer', to: this.id, sdp: this.pc.localDescription.sdp});
      this.counters.offersSent++;
    });
  }

  answer(sdp) {
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
      this.send({type: 'answer', to: this.id, sdp: this.pc.localDescription.sdp});
      this.counters.answersSent++;
    });
  }

  accept(sdp) {
    this.counters.answersReceived++;
    return this.step('Connecting to a peer', async () => {
      await this.pc.setRemoteDescription({type: 'answer', sdp});
      await this.flushCandidates();
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
      // A candidate the browser cannot use (or a second end-of-candidates)
      // only loses that one path; ICE goes on with the others.
      console.debug('meshcall: candidate ignored', init, e);
    }
  }

  sender(kind) { return this.senders[kind]; }

  async inbound() {
    let videoFrames = 0;
    let audioPackets = 0;
    const report = await this.pc.getStats();
    report.forEach(r => {
      if (r.type !== 'inbound-rtp')
        return;
      if (r.kind === 'video')
        videoFrames += r.framesDecoded || 0;
      else if (r.kind === 'audio')
        audioPackets += r.packetsReceived || 0;
    });
    return {videoFrames, audioPackets};
  }

  close() {
    this.closed = true;
    this.pendingCandidates = [];
    this.pc.close();
    for (const track of this.remoteStream.getTracks())
      this.remoteStream.removeTrack(track);
  }
}
