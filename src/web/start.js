// SPDX-License-Identifier: LGPL-2.1-or-later
// The start page: create a room or enter one; the name is remembered for the
// room page under "meshcall.name".

const NAME_KEY = 'meshcall.name';
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;

const $ = id => document.getElementById(id);
const say = text => { $('status').textContent = text; };

function rememberName() {
  try {
    localStorage.setItem(NAME_KEY, $('name').value.trim());
  } catch (e) { /* private mode: the name is just not remembered */ }
}

function go(path) {
  rememberName();
  location.href = path;
}

async function createRoom() {
  const button = $('create');
  button.disabled = true;
  say('Creating a room…');
  try {
    const res = await fetch('/api/rooms', {method: 'POST'});
    if (!res.ok) {
      say(`Could not create a room: the server answered ${res.status}. Try again in a moment.`);
      return;
    }
    const made = await res.json();
    go(typeof made.url === 'string' ? made.url : `/r/${made.room}`);
  } catch (e) {
    say('Could not reach the server to create a room. Check your connection and try again.');
  } finally {
    button.disabled = false;
  }
}

function enterRoom(event) {
  event.preventDefault();
  const room = $('room').value.trim();
  if (!ROOM.test(room)) {
    say(room ? 'That room name cannot be used: a room name is 1 to 64 letters, digits, "-" or "_", without spaces.'
      : 'Enter a room name first, or create a new room.');
    $('room').focus();
    return;
  }
  go(`/r/${room}`);
}

try {
  $('name').value = localStorage.getItem(NAME_KEY) || '';
} catch (e) { /* no storage */ }
$('name').addEventListener('change', rememberName);
$('enter').addEventListener('submit', enterRoom);
$('create').addEventListener('click', createRoom);
