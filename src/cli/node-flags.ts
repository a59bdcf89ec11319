// The V8 flags every launcher of the agent passes to node (package.json, the bin shebang, the
// Dockerfile, the systemd unit; the benchmarks too). They cannot be set from inside the process: V8
// sizes its young generation when the heap is created.
//
// --max-semi-space-size=8: a young generation of at most 8 MB per semi-space instead of V8's default
// (up to 32 MB on a large machine). Loading 10,000 job files then ends with an RSS of about 190 MB
// instead of 250–300 MB, and starts no slower (docs/benchmarks.md); the live heap is 80 MB either way.
//
// --no-memory-reducer: V8's memory reducer runs full collections whenever the process turns idle, to
// give memory back; for an agent that is idle most of the time and whose heap is steady, that was most
// of its idle CPU: 52 → 30 ms a minute over minutes 3–7 after start (10 jobs), for an RSS with 10,000
// jobs of 187 MB instead of 161 MB once the reducer would have run (docs/benchmarks.md).
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--no-memory-reducer'];
