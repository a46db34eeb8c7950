export { freePort } from '../../src/common/ports.js';
