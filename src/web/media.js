// SPDX-License-Identifier: LGPL-2.1-or-later
// The local camera and microphone: capture, mute, and switching devices while
// a call runs. Switching hands the new track to every peer connection with
// RTCRtpSender.replaceTrack, so nothing is renegotiated (docs/protocol.md,
// "Rooms and roles").

const KINDS = ['audio', 'video'];

// Plain words for why getUserMedia gave us nothing of one or both kinds.
function explainMissing(missing, error) {
  const what = missing.length === 2 ? 'camera or microphone'
    : missing[0] === 'video' ? 'camera' : 'microphone';
  const rest = missing.length === 2 ? 'you are in the room without them'
    : 'you are in the room without it';
  if (!error)
    return `No ${what}: ${rest}.`;
  switch (error.name) {
  case 'NotAllowedError':
  case 'SecurityError':
    return `Access to the ${what.replace(' or ', ' and ')} was denied: ${rest}.`;
  case 'NotReadableError':
  case 'AbortError':
    return `The ${what} is busy or broken: ${rest}.`;
  case 'NotFoundError':
  case 'OverconstrainedError':
  default:
    return `No ${what}: ${rest}.`;
  }
}

export class LocalMedia {
  constructor() {
    this.tracks = {audio: null, video: null};
    this.muted = {audio: false, video: false};
    this.devices = {audio: [], video: []};
    this.note = '';            // plain words about missing devices, '' when all is well
    this.onchange = () => {};  // tracks, devices or mute state changed
    this.switching = Promise.resolve();
    this.starting = null;
  }

  // Asks for camera and microphone once; whatever is missing stays null and
  // the call goes on without it.
  start() {
    if (!this.starting)
      this.starting = this.capture();
    return this.starting;
  }

  async capture() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.note = 'This page is not a secure context (https), so the browser offers no ' +
        'camera or microphone: you are in the room without them.';
      this.onchange();
      return;
    }
    let firstError = null;
    try {
      this.adopt(await navigator.mediaDevices.getUserMedia({audio: true, video: true}));
    } catch (e) {
      firstError = e;
      // One kind may still work on its own (no microphone, or a camera that
      // another program holds). A refusal is not asked again.
      const refused = e.name === 'NotAllowedError' || e.name === 'SecurityError';
      for (const kind of refused ? [] : KINDS) {
        try {
          this.adopt(await navigator.mediaDevices.getUserMedia({[kind]: true}));
        } catch (e2) { /* stays missing */ }
      }
    }
    const missing = KINDS.filter(k => !this.tracks[k]);
    this.note = missing.length ? explainMissing(missing, firstError) : '';
    navigator.mediaDevices.addEventListener('devicechange', () => this.refreshDevices());
    await this.refreshDevices();
  }

  adopt(stream) {
    for (const track of stream.getTracks()) {
      if (this.tracks[track.kind])
        track.stop();
      else
        this.setTrack(track);
    }
  }

  setTrack(track) {
    track.enabled = !this.muted[track.kind];
    track.addEventListener('ended', () => {
      if (this.tracks[track.kind] !== track)
        return;
      this.tracks[track.kind] = null;
      this.note = track.kind === 'video'
        ? 'Your camera stopped: pick another one to be seen again.'
        : 'Your microphone stopped: pick another one to be heard again.';
      this.onchange();
    });
    this.tracks[track.kind] = track;
  }

  async refreshDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices)
      return;
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.devices.video = all.filter(d => d.kind === 'videoinput' && d.deviceId);
      this.devices.audio = all.filter(d => d.kind === 'audioinput' && d.deviceId);
    } catch (e) {
      this.devices = {audio: [], video: []};
    }
    this.onchange();
  }

  deviceId(kind) {
    const track = this.tracks[kind];
    return track ? (track.getSettings().deviceId || null) : null;
  }

  // The kind is sending when its track exists and is not muted.
  sending(kind) { return !!this.tracks[kind] && !this.muted[kind]; }

  setMuted(kind, muted) {
    this.muted[kind] = muted;
    if (this.tracks[kind])
      this.tracks[kind].enabled = !muted;
    this.onchange();
  }

  // Captures deviceId and puts it on every sender of that kind (senders are
  // the matching senders of all peer connections), then stops the old track.
  // Switches run one after another.
  switchDevice(kind, deviceId, senders) {
    const run = async () => {
      if (deviceId === this.deviceId(kind))
        return;
      const stream = await navigator.mediaDevices.getUserMedia(
        {[kind]: {deviceId: {exact: deviceId}}});
      const track = stream.getTracks().find(t => t.kind === kind);
      const old = this.tracks[kind];
      this.setTrack(track);
      // No renegotiation: the transceivers are sendrecv already.
      await Promise.all(senders().map(s => s.replaceTrack(track).catch(e => {
        console.warn('meshcall: replaceTrack failed on one peer connection', e);
      })));
      if (old)
        old.stop();
      if (this.note && !KINDS.some(k => !this.tracks[k]))
        this.note = '';
      this.onchange();
    };
    const result = this.switching.then(run);
    this.switching = result.catch(() => {});
    return result;
  }

  // What window.meshcall.local shows: the tracks being sent now.
  describe() {
    const {audio, video} = this.tracks;
    return {
      videoTrackId: video ? video.id : null,
      videoDeviceId: this.deviceId('video'),
      videoLabel: video ? video.label : null,
      audioTrackId: audio ? audio.id : null,
      audioDeviceId: this.deviceId('audio'),
      audioLabel: audio ? audio.label : null,
    };
  }
}
