import { abortiveClose } from './abortive-close.js';
import { closeWaitStuck } from './close-wait-stuck.js';
import { connectionRefused } from './connection-refused.js';
import type { Detector } from './detector.js';
import { halfClose } from './half-close.js';
import { halfOpen } from './half-open.js';
import { handshakeAbort } from './handshake-abort.js';
import { icmpUnreachable } from './icmp-unreachable.js';
import { listenOverflow } from './listen-overflow.js';
import { middleboxReset } from './middlebox-reset.js';
import { peerReset } from './peer-reset.js';
import { portReuse } from './port-reuse.js';
import { simultaneousClose } from './simultaneous-close.js';
import { strayRst } from './stray-rst.js';
import { synTimeout } from './syn-timeout.js';
import { writeAfterFin } from './write-after-fin.js';
import { zeroWindow } from './zero-window.js';

/** Every detector, in the order of FINDING_KINDS and docs/findings.md. Adding one touches its own file and this list. */
export const DETECTORS: readonly Detector[] = [
  closeWaitStuck,
  writeAfterFin,
  abortiveClose,
  peerReset,
  halfOpen,
  connectionRefused,
  synTimeout,
  handshakeAbort,
  zeroWindow,
  halfClose,
  portReuse,
  icmpUnreachable,
  simultaneousClose,
  listenOverflow,
  middleboxReset,
  strayRst,
];
