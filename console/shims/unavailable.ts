// Node modules that lib/ imports for its file and network helpers, which the console never calls
// (console/build.mjs aliases node:fs, node:http, ... to this file). Anything that does reach one says so.
const unavailable = (name: string) => () => {
  throw new Error(`${name} is not available in the browser`);
};
export const readFileSync = unavailable('fs.readFileSync');
export const writeFileSync = unavailable('fs.writeFileSync');
export const existsSync = (): boolean => false;
export const mkdirSync = unavailable('fs.mkdirSync');
export const chmodSync = unavailable('fs.chmodSync');
export const statSync = unavailable('fs.statSync');
export const createReadStream = unavailable('fs.createReadStream');
export const createWriteStream = unavailable('fs.createWriteStream');
export const open = unavailable('fs.open');
export const rename = unavailable('fs.rename');
export const rm = unavailable('fs.rm');
export const stat = unavailable('fs.stat');
export const mkdir = unavailable('fs.mkdir');
export const readFile = unavailable('fs.readFile');
export const writeFile = unavailable('fs.writeFile');
export const request = unavailable('http.request');
export const homedir = unavailable('os.homedir');
export const availableParallelism = (): number => 1;
export const join = (...parts: string[]): string => parts.join('/');
export const dirname = (p: string): string => p.replace(/\/[^/]*$/, '');
export const resolve = (...parts: string[]): string => parts.join('/');
export const basename = (p: string): string => p.replace(/^.*\//, '');
export const fileURLToPath = (u: string): string => u;
export const createRequire = unavailable('module.createRequire');
export class Worker {
  constructor() {
    throw new Error('worker_threads are not available in the browser');
  }
}
export default {};
// gen/wolk/*/v1 service files build their gRPC client classes at load; the page never calls gRPC.
export const makeGenericClientConstructor = (): unknown => class {};
