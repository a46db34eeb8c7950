/** A private unbound from Debian's package, with stub zones pointing at our rkvdns instances (the shared harness). */
export { loopbackServer, serverBlock, startUnbound, stubZone, type RunningUnbound as TestUnbound } from '../../src/harness/unbound.js';
