// A bounded cache in two generations: new entries go to `young`; when it holds half the capacity it
// becomes `old` and the previous old is dropped; a hit in `old` moves back to `young`. O(1) per
// operation and at most `capacity` entries (a Map used as a FIFO, deleting its first key, degrades badly
// once V8 has to skip many deleted entries). For immutable values only: the state tree's nodes and
// objects (tree.ts).
export class TwoGenerationCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const older = this.old.get(key);
    if (older !== undefined) this.set(key, older);
    return older;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    if (this.young.size >= Math.ceil(this.capacity / 2)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
