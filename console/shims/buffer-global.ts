// Injected into the browser bundle (esbuild `inject`): lib/ uses Node's Buffer for hex and base64.
export { Buffer } from 'buffer';
