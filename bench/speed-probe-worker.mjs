// The machine-speed probe's process (bench/speed-probe.ts): a fixed small piece of work (an
// object through JSON and a regular expression over an XML answer, as an SDK call does) for
// 4 ms of every 80, about 5 % of a core, and once a second a line "<epoch ms> <items> <CPU µs>"
// with this process's own CPU time. CPU time per item falls when the machine gets faster and
// rises when it slows, whatever else is running.
let items = 0;
let sink = 0;
const work = () => {
  const o = {
    Bucket: "bucket",
    Key: `key/${items}`,
    Meta: { a: "x".repeat(50), n: items },
    list: Array.from({ length: 30 }, (_, i) => ({ i, s: `v${i}` })),
  };
  const p = JSON.parse(JSON.stringify(o));
  const xml = `<CopyObjectResult><ETag>"${p.Key}abcdef"</ETag><LastModified>2026-12-05T00:00:00Z</LastModified></CopyObjectResult>`;
  const m = /<ETag>(.*?)<\/ETag>/.exec(xml);
  return m ? m[1].length : 0;
};
const report = () => {
  const u = process.cpuUsage();
  process.stdout.write(`${Date.now()} ${items} ${u.user + u.system}\n`);
};
setInterval(() => {
  const t0 = performance.now();
  while (performance.now() - t0 < 4) {
    for (let i = 0; i < 20; i++) {
      sink += work();
      items++;
    }
  }
}, 80);
setInterval(report, 1000);
report();
process.on("exit", () => {
  if (sink < 0) console.error(sink);
});
