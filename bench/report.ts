// Output of a benchmark run: the results document (JSON), a plain-text table for the terminal
// and the README, and an SVG chart written by hand (no browser): export throughput next to
// the S3 ceiling, and the incremental export counts per branch size.
import type { ColdStartResult } from "./cold-start";
import type { CostBreakdown, PriceList } from "./cost-model";
import type { CpuUse } from "./cpu-usage";
import type { AwsGcModel } from "./gc-aws-model";
import type { MachineInfo } from "./machine";

import type { ExportThroughput } from "./throughput";

export type { ExportThroughput };

export interface IncrementalExport {
  branchObjects: number;
  /** The branch's first (full) export, commit to status file. */
  firstExportSeconds?: number;
  changedObjects: number;
  seconds: number;
  s3Requests: number;
  s3ByOperation: Record<string, number>;
  lakeFsCalls: number;
  lakeFsByOperation: Record<string, number>;
  /** The export path equalled the commit afterwards. */
  verified: boolean;
}

export interface GcMeasurement {
  /** "xl": the lakeFS-scale profile (many paths linked to a small pool of objects). */
  profile?: string;
  /** Physical objects the benchmark wrote (what GC may delete or must keep). */
  objects: number;
  /** Paths in the branch heads (README, base and hot paths). */
  paths?: number;
  commits: number;
  branches: number;
  expectedSwept: number;
  swept: number;
  markSeconds: number;
  sweepSeconds: number;
  lakeFsCalls: number;
  lakeFsByOperation?: Record<string, number>;
  s3Requests: number;
  s3ByOperation: Record<string, number>;
  maxPeakHeapMiB: number;
  maxPeakHeapFunction: string;
  /** Largest heap of one invocation, per GC function (mark and sweep runs together). */
  peakHeapMiBByFunction?: Record<string, number>;
  /** Modelled AWS wall time and cost of the same runs (bench/gc-aws-model.ts). */
  awsModel?: AwsGcModel;
}

export interface CostEntry {
  work: "export" | "sweep";
  basedOn: string;
  lakeport: CostBreakdown;
  s3BatchOperations: CostBreakdown & { note: string };
}

import type { GcMemoryFigure } from "./gc-memory";

/** Commit to status line of a one-object change (bench/latency-bench.ts). */
export interface LatencyResult {
  commits: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** What AWS adds to each hop the local runner makes in-process (assumed figures). */
  awsModel: { hop: string; ms: number; basis: string }[];
  awsAddedMs: number;
  /** Where the median commit's time went: lakeFS's commit, then each function's first start
   * and last end (ms from the commit call) and its summed invocation time. */
  medianCommit?: {
    ms: number;
    lakeFsCommitMs: number;
    functions: { function: string; startMs: number; endMs: number; busyMs: number }[];
  };
}

/** One tool's work on one step of the peer comparison. */
export interface PeerFigures {
  seconds: number;
  /** Requests the embedded S3 answered (the lakeFS gateway's reads of object bytes included). */
  s3Requests: number;
  /** Requests the lakeFS server answered (API and S3 gateway). */
  lakeFsRequests: number;
  /** Object bytes that went through the tool itself (rclone reads and writes them; Lakeport copies server-side). */
  bytesThroughClient: number;
}

export interface PeerStep {
  lakeport: PeerFigures;
  rclone: PeerFigures;
  /** Lakeport's over rclone's: below 1, Lakeport took less. */
  timeRatio: number;
  requestRatio: number;
}

/** Lakeport against `rclone sync` through lakeFS's S3 gateway, on the same branch and commits. */
export interface PeerComparison {
  branchObjects: number;
  first: PeerStep;
  /** Ten changed objects after the first export. */
  incremental: PeerStep;
}

export interface BenchResults {
  date: string;
  profile: "quick" | "full" | "xl";
  /** LAKEPORT_BENCH_XL_SCALE of a scaled-down xl run (development only). */
  xlScale?: number;
  machine: MachineInfo;
  /** COPY_CONCURRENCY of the export copy function in the run (absent: the default 32). */
  copyConcurrencyPerWorker?: number;
  /** Local workers of the export copy function (absent: lambdaConcurrency, as before 12-05). */
  copyWorkers?: number;
  /** Extra CPU the embedded S3 spent on every copy (LAKEPORT_BENCH_S3_COPY_WORK, a diagnostic
   * run: its figures are not the product's against the plain server). */
  s3CopyWork?: { spinThousands: number };
  /** Local workers per Lambda function (the bench's default: the core count, 2 to 4). */
  lambdaConcurrency?: number;
  /** Where the embedded S3 kept its files (a tmpfs when available). */
  dataDirectory?: string;
  totalSeconds: number;
  ceiling?: {
    objectsPerSecond: number;
    /** Worker threads running the loop, and requests in flight in each. */
    threads?: number;
    concurrency: number;
    copies: number;
    /** Machine CPU during the best setting's timed copies (bench/cpu-usage.ts). */
    cpu?: CpuUse;
    /** The speed probe's CPU ns per item during them (bench/speed-probe.ts). */
    probeNanosPerItem?: number;
    tried?: {
      threads: number;
      concurrency: number;
      objectsPerSecond: number;
      cpu?: CpuUse;
      probeNanosPerItem?: number;
    }[];
  };
  /** The same sweep after the export rounds. */
  ceilingAfter?: BenchResults["ceiling"];
  /** Before the first export round and after each: the ceiling loop at the sweep's best
   * setting and at the export's own, as many copies as an export each; the better one. */
  ceilingRounds?: NonNullable<BenchResults["ceiling"]>[];
  exportThroughput?: ExportThroughput;
  incremental: IncrementalExport[];
  gc: GcMeasurement[];
  latency?: LatencyResult;
  /** Lakeport against rclone through lakeFS's S3 gateway (bench/peer-bench.ts). */
  peer?: PeerComparison[];
  /** What the GC Lambdas hold at their design bounds (bench/gc-memory.ts). */
  gcMemory?: GcMemoryFigure[];
  cost: CostEntry[];
  prices: PriceList;
  coldStart: ColdStartResult[];
  /** What could not be measured, and why. */
  unavailable: string[];
  failures: string[];
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [
    line(headers),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/**
 * Which `latest.*` files a run replaces (what the README shows): a run of every part
 * `latest`, a full-size xl run `latest-xl`, any other run none, and never a diagnostic run with a
 * dearer S3 copy.
 */
export function latestResultsName(
  r: Pick<BenchResults, "s3CopyWork">,
  run: { allParts: boolean; xlFull: boolean },
): "latest" | "latest-xl" | undefined {
  if (r.s3CopyWork) return undefined;
  if (run.xlFull) return "latest-xl";
  return run.allParts ? "latest" : undefined;
}

/** Markdown tables (they read fine in a terminal too). */
export function renderTables(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [
    `Lakeport benchmark, ${r.profile} profile${r.xlScale ? ` scaled to ${r.xlScale}` : ""}, ${r.date}`,
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, Node.js ${m.node}${m.nodeFlags?.length ? ` (flags ${m.nodeFlags.join(" ")})` : ""}; run took ${fmt(r.totalSeconds)} s`,
    ...(r.dataDirectory ? [`Embedded S3 data under ${r.dataDirectory}`] : []),
    ...(r.s3CopyWork
      ? [
          `DIAGNOSTIC RUN: the embedded S3 spun ${r.s3CopyWork.spinThousands} thousand iterations of extra CPU on every copy (LAKEPORT_BENCH_S3_COPY_WORK); its figures are not the product's against the plain server`,
        ]
      : []),
    ...(r.lambdaConcurrency
      ? [
          `${r.lambdaConcurrency} local workers per Lambda function (the export copy function ${r.copyWorkers ?? r.lambdaConcurrency}); ${r.copyConcurrencyPerWorker ?? 32} copies in flight per copy worker`,
        ]
      : []),
    "",
  ];
  const tp: string[][] = [];
  const cpuCell = (c?: CpuUse) => (c ? fmt(c.microsPerObject) : "");
  const setting = (c: { threads?: number; concurrency: number }) =>
    `${c.threads ?? 1}x${c.concurrency}`;
  if (r.ceiling) {
    tp.push([
      `S3 ceiling sweep before the exports (best: ${setting(r.ceiling)})`,
      fmt(r.ceiling.copies),
      "",
      fmt(r.ceiling.objectsPerSecond),
      "",
      cpuCell(r.ceiling.cpu),
    ]);
  }
  if (r.ceilingAfter) {
    tp.push([
      `S3 ceiling sweep after the exports (best: ${setting(r.ceilingAfter)})`,
      fmt(r.ceilingAfter.copies),
      "",
      fmt(r.ceilingAfter.objectsPerSecond),
      "",
      cpuCell(r.ceilingAfter.cpu),
    ]);
  }
  for (const [i, c] of (r.ceilingRounds ?? []).entries()) {
    tp.push([
      `${i === 0 ? "S3 ceiling before export round 1" : `S3 ceiling after export round ${i}`} (${setting(c)})`,
      fmt(c.copies),
      "",
      fmt(c.objectsPerSecond),
      "",
      cpuCell(c.cpu),
    ]);
  }
  if (r.exportThroughput) {
    const e = r.exportThroughput;
    const rounds = e.rounds ?? [];
    for (const [i, round] of rounds.entries()) {
      tp.push([
        `Export round ${i + 1} (ratio to the ceilings around it)`,
        fmt(round.objects),
        fmt(round.seconds, 1),
        fmt(round.objectsPerSecond),
        fmt(round.ratio, 2),
        cpuCell(round.cpu?.export),
      ]);
    }
    tp.push([
      rounds.length > 1
        ? `First export, best of ${rounds.length} (ratio to the run's best ceiling)`
        : "First export",
      fmt(e.objects),
      fmt(e.seconds, 1),
      fmt(e.objectsPerSecond),
      fmt(e.ratioToCeiling, 2),
      "",
    ]);
  }
  if (tp.length) {
    out.push(
      table(["throughput", "objects", "s", "objects/s", "ratio", "CPU µs per object"], tp),
      "",
    );
    const e = r.exportThroughput;
    const phases = (e?.rounds ?? []).flatMap((x) =>
      x.copyPhaseRatio === undefined ? [] : [fmt(x.copyPhaseRatio, 2)],
    );
    if (phases.length > 0) {
      out.push(
        `Copy phase alone (the copy map's first copy to its last) against the same ceilings, by round: ${phases.join(", ")}`,
        "",
      );
    }
    const adjusted = (e?.rounds ?? []).flatMap((x) =>
      x.speedAdjustedRatio === undefined ? [] : [fmt(x.speedAdjustedRatio, 2)],
    );
    if (adjusted.length > 0) {
      out.push(
        `Against the ceilings around each round scaled to the machine speed of the export's minutes (a speed probe's CPU time per item), by round: ${adjusted.join(", ")}; median ${fmt(e?.medianSpeedAdjustedRatio ?? Number.NaN, 2)}`,
        "",
      );
    }
    if (e?.medianCpuRatio !== undefined) {
      out.push(
        `CPU ratio (the ceiling's CPU per copy / the export's CPU per object, plan and status included), median of the rounds: ${fmt(e.medianCpuRatio, 2)}`,
        "",
      );
    }
    if (e?.medianS3ThreadWaitShare !== undefined) {
      out.push(
        `S3's thread ready but waiting for a CPU held by other threads, share of the wall time, median of the rounds: ${fmt(e.medianS3ThreadWaitShare.export, 2)} during the exports, ${fmt(e.medianS3ThreadWaitShare.ceilings, 2)} during the ceiling samples around them`,
        "",
      );
    }
  }
  if (r.incremental.length) {
    out.push(
      table(
        ["incremental export (10 changed)", "first export s", "s", "S3 requests", "lakeFS calls"],
        r.incremental.map((i) => [
          `branch of ${fmt(i.branchObjects)}${i.verified ? "" : " (WRONG DATA)"}`,
          i.firstExportSeconds === undefined ? "" : fmt(i.firstExportSeconds, 1),
          fmt(i.seconds, 1),
          fmt(i.s3Requests),
          fmt(i.lakeFsCalls),
        ]),
      ),
      "",
    );
  }
  if (r.latency) {
    const l = r.latency;
    out.push(
      table(
        ["commit to status line (1 changed object)", "p50 ms", "p95 ms", "max ms"],
        [
          [`local runner, ${l.commits} commits`, fmt(l.p50Ms), fmt(l.p95Ms), fmt(l.maxMs)],
          [
            `AWS by the model (+${fmt(l.awsAddedMs)} ms)`,
            fmt(l.p50Ms + l.awsAddedMs),
            fmt(l.p95Ms + l.awsAddedMs),
            fmt(l.maxMs + l.awsAddedMs),
          ],
        ],
      ),
      "",
    );
  }
  if (r.peer?.length) {
    const row = (label: string, st: PeerStep) => [
      label,
      fmt(st.lakeport.seconds, 1),
      fmt(st.rclone.seconds, 1),
      fmt(st.timeRatio, 2),
      fmt(st.lakeport.s3Requests + st.lakeport.lakeFsRequests),
      fmt(st.rclone.s3Requests + st.rclone.lakeFsRequests),
      fmt(st.requestRatio, 3),
      fmt(st.rclone.bytesThroughClient),
    ];
    out.push(
      table(
        [
          "Lakeport vs rclone sync",
          "Lakeport s",
          "rclone s",
          "time ratio",
          "Lakeport requests",
          "rclone requests",
          "request ratio",
          "rclone bytes moved",
        ],
        r.peer.flatMap((p) => [
          row(`first export, ${fmt(p.branchObjects)} objects`, p.first),
          row(`10 changes, ${fmt(p.branchObjects)} objects`, p.incremental),
        ]),
      ),
      "",
    );
  }
  if (r.gc.length) {
    out.push(
      table(
        [
          "GC",
          "commits",
          "swept",
          "mark s",
          "sweep s",
          "lakeFS calls",
          "S3 requests",
          "peak heap MiB",
          "AWS s (model)",
          "USD (model)",
        ],
        r.gc.map((g) => [
          gcLabel(g),
          fmt(g.commits),
          fmt(g.swept),
          fmt(g.markSeconds, 1),
          fmt(g.sweepSeconds, 1),
          fmt(g.lakeFsCalls),
          fmt(g.s3Requests),
          fmt(g.maxPeakHeapMiB, 1),
          g.awsModel ? fmt(g.awsModel.wallSeconds, 1) : "",
          g.awsModel ? fmt(g.awsModel.costUsd.total, 4) : "",
        ]),
      ),
      "",
      ...gcFunctionTable(r.gc),
    );
  }
  if (r.cost.length) {
    out.push(
      table(
        [
          "USD per million objects",
          "Lambda",
          "Step Functions",
          "S3",
          "total",
          "S3 Batch Operations",
        ],
        r.cost.map((c) => [
          `${c.work} (${c.basedOn})`,
          fmt(c.lakeport.lambda, 3),
          fmt(c.lakeport.stepFunctions, 3),
          fmt(c.lakeport.s3, 3),
          fmt(c.lakeport.total, 3),
          fmt(c.s3BatchOperations.total, 3),
        ]),
      ),
      `Prices: ${r.prices.region}, Arm Lambda, as of ${r.prices.asOf}`,
      "",
    );
  }
  if (r.coldStart.length) {
    out.push(
      table(
        ["Lambda", "MB", "zip KiB", "init ms"],
        r.coldStart.map((c) => [
          c.logicalId.replace(/[0-9A-F]{8}$/, ""),
          String(c.memorySizeMb),
          fmt(c.zipBytes / 1024),
          fmt(c.initMs),
        ]),
      ),
      "",
    );
  }
  for (const u of r.unavailable) out.push(`not measured: ${u}`);
  for (const f of r.failures) out.push(`FAILED: ${f}`);
  return out.join("\n");
}

const gcLabel = (g: GcMeasurement) =>
  g.paths !== undefined && g.profile === "xl"
    ? `${fmt(g.paths)} paths, ${fmt(g.objects)} objects, ${g.branches} branches`
    : `${fmt(g.objects)} objects, ${g.branches} branches`;

/** Per GC function: invocations, peak heap, measured and modelled seconds (mark + sweep). */
function gcFunctionTable(gc: GcMeasurement[]): string[] {
  const rows: string[][] = [];
  for (const g of gc) {
    if (!g.awsModel) continue;
    for (const phase of g.awsModel.phases) {
      for (const st of phase.steps) {
        rows.push([
          `${gcLabel(g)}: ${phase.phase} ${st.function.replace(/^Gc|Function$/g, "")}`,
          fmt(st.invocations),
          fmt(st.busyS, 1),
          fmt(st.longestS, 1),
          fmt(g.peakHeapMiBByFunction?.[st.function] ?? 0, 1),
          fmt(st.seconds, 1),
        ]);
      }
    }
  }
  if (!rows.length) return [];
  return [
    table(
      ["GC step", "invocations", "busy s", "longest s", "peak heap MiB", "AWS s (model)"],
      rows,
    ),
    "",
  ];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Two panels: objects/s (ceiling vs export) and incremental counts per branch size. */
interface BarGroup {
  label: string;
  bars: { value: number; color: string; text?: string }[];
}

/** One panel of grouped bars with value labels; the bars start below the title. */
function barPanel(
  box: { x: number; y: number; w: number; h: number },
  title: string,
  groups: BarGroup[],
  note?: string,
): string[] {
  const out = [`<text x="${box.x}" y="${box.y}" font-weight="bold">${esc(title)}</text>`];
  const top = box.y + 30; // room for the title and the tallest bar's label
  const base = box.y + box.h;
  const height = base - top;
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const gw = groups.length ? box.w / groups.length : box.w;
  groups.forEach((g, k) => {
    const n = Math.max(1, g.bars.length);
    const bw = Math.min(60, (gw - 20 - 4 * (n - 1)) / n);
    const x0 = box.x + k * gw + (gw - (n * bw + 4 * (n - 1))) / 2;
    g.bars.forEach((b, j) => {
      const h = (b.value / max) * height;
      const x = x0 + j * (bw + 4);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${(base - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color}"/>`,
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(base - h - 4).toFixed(1)}" text-anchor="middle">${esc(b.text ?? fmt(b.value))}</text>`,
      );
    });
    out.push(
      `<text x="${(box.x + k * gw + gw / 2).toFixed(1)}" y="${base + 16}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  if (!groups.length) out.push(`<text x="${box.x}" y="${top + 20}">not measured</text>`);
  out.push(`<line x1="${box.x}" y1="${base}" x2="${box.x + box.w}" y2="${base}" stroke="black"/>`);
  if (note) out.push(`<text x="${box.x}" y="${base + 36}">${esc(note)}</text>`);
  return out;
}

function legend(x: number, y: number, items: [string, string][]): string[] {
  let at = x;
  return items.map(([label, color]) => {
    const s = `<rect x="${at}" y="${y - 9}" width="10" height="10" fill="${color}"/><text x="${at + 14}" y="${y}">${esc(label)}</text>`;
    at += 24 + label.length * 7;
    return s;
  });
}

const BLUE = "#2a6fdb";
const ORANGE = "#e08a1e";
const GREY = "#888";

function svgHead(r: BenchResults, W: number, H: number): string[] {
  const scaled = r.xlScale ? ` scaled to ${r.xlScale}` : "";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`Lakeport benchmark ${r.date.slice(0, 10)} (${r.profile} profile${scaled}; ${r.machine.cpus} x ${r.machine.cpuModel}, Node.js ${r.machine.node})`)}</text>`,
  ];
}

/** The xl profile measures GC only: its time, each step's peak heap, its requests. */
function renderXlSvg(r: BenchResults): string {
  const parts = svgHead(r, 1040, 360);
  const y = 52;
  const h = 250;
  const g = r.gc[0];
  const steps = g?.awsModel?.phases.flatMap((p) =>
    p.steps.map((st) => ({ ...st, phase: p.phase })),
  );
  const heap = Object.entries(g?.peakHeapMiBByFunction ?? {});
  parts.push(
    ...barPanel(
      { x: 30, y, w: 300, h },
      g ? `GC of ${fmt(g.paths ?? g.objects)} paths, ${fmt(g.commits)} commits: s` : "GC: s",
      g
        ? [
            {
              label: "mark",
              bars: [{ value: g.markSeconds, color: BLUE, text: fmt(g.markSeconds, 1) }],
            },
            {
              label: "sweep",
              bars: [{ value: g.sweepSeconds, color: ORANGE, text: fmt(g.sweepSeconds, 1) }],
            },
            ...(g.awsModel
              ? [
                  {
                    label: `AWS model ($${fmt(g.awsModel.costUsd.total, 3)})`,
                    bars: [
                      {
                        value: g.awsModel.wallSeconds,
                        color: GREY,
                        text: fmt(g.awsModel.wallSeconds, 1),
                      },
                    ],
                  },
                ]
              : []),
          ]
        : [],
      g ? `exactly ${fmt(g.swept)} of ${fmt(g.objects)} objects swept` : undefined,
    ),
    ...barPanel(
      { x: 370, y, w: 400, h },
      "peak heap per GC function, MiB",
      heap.map(([fn, mib]) => ({
        label: fn.replace(/^Gc|Function$/g, ""),
        bars: [{ value: mib, color: BLUE, text: fmt(mib, 0) }],
      })),
      steps ? `${fmt(steps.reduce((a, st) => a + st.invocations, 0))} invocations` : undefined,
    ),
    ...barPanel(
      { x: 810, y, w: 210, h },
      "requests",
      g
        ? [
            { label: "lakeFS", bars: [{ value: g.lakeFsCalls, color: ORANGE }] },
            { label: "S3", bars: [{ value: g.s3Requests, color: BLUE }] },
          ]
        : [],
    ),
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}

export function renderSvg(r: BenchResults): string {
  if (r.profile === "xl") return renderXlSvg(r);
  const W = 1040;
  const H = r.peer?.length ? 720 : 360;
  const parts: string[] = svgHead(r, W, H);
  const y = 52;
  const h = 250;
  // Throughput: the export next to the S3 ceiling measured in the same run.
  const throughput: BarGroup[] = [];
  if (r.ceiling) {
    throughput.push({
      label: "ceiling before",
      bars: [{ value: r.ceiling.objectsPerSecond, color: GREY }],
    });
  }
  if (r.ceilingAfter) {
    throughput.push({
      label: "ceiling after",
      bars: [{ value: r.ceilingAfter.objectsPerSecond, color: GREY }],
    });
  }
  if (r.exportThroughput) {
    const n = r.exportThroughput.rounds?.length ?? 1;
    throughput.push({
      label: n > 1 ? `export, best of ${n}` : "first export",
      bars: [{ value: r.exportThroughput.objectsPerSecond, color: BLUE }],
    });
  }
  parts.push(
    ...barPanel(
      { x: 30, y, w: 240, h },
      "export throughput, objects/s",
      throughput,
      r.exportThroughput
        ? `ratio ${fmt(r.exportThroughput.ratioToCeiling, 2)}${r.exportThroughput.medianRoundRatio !== undefined ? `, median round ${fmt(r.exportThroughput.medianRoundRatio, 2)}` : ""} (${fmt(r.exportThroughput.objects)} objects)`
        : "export not measured",
    ),
  );
  // Incremental export: requests per branch size (flat is the point).
  parts.push(
    ...barPanel(
      { x: 320, y, w: 330, h },
      "incremental export of 10 changes: requests",
      r.incremental.map((i) => ({
        label: `${fmt(i.branchObjects)} objects`,
        bars: [
          { value: i.s3Requests, color: BLUE },
          { value: i.lakeFsCalls, color: ORANGE },
        ],
      })),
    ),
    ...legend(320, 360 - 14, [
      ["S3 requests", BLUE],
      ["lakeFS calls", ORANGE],
    ]),
  );
  // GC: mark and sweep time per repository size.
  parts.push(
    ...barPanel(
      { x: 700, y, w: 320, h },
      "GC seconds (objects / commits)",
      r.gc.map((g) => ({
        label: `${fmt(g.objects)} / ${fmt(g.commits)}`,
        bars: [
          { value: g.markSeconds, color: BLUE, text: fmt(g.markSeconds, 1) },
          { value: g.sweepSeconds, color: ORANGE, text: fmt(g.sweepSeconds, 1) },
          ...(g.awsModel
            ? [
                {
                  value: g.awsModel.wallSeconds,
                  color: GREY,
                  text: `${fmt(g.awsModel.wallSeconds, 1)} ($${fmt(g.awsModel.costUsd.total, 3)})`,
                },
              ]
            : []),
        ],
      })),
    ),
    ...legend(700, 360 - 14, [
      ["mark", BLUE],
      ["sweep", ORANGE],
      ...(r.gc.some((g) => g.awsModel) ? ([["AWS (model)", GREY]] as [string, string][]) : []),
    ]),
  );
  if (r.peer?.length) parts.push(...peerPanels(r.peer, 410));
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Second row: Lakeport beside rclone, seconds and requests, first export and ten changes. */
function peerPanels(peer: PeerComparison[], y: number): string[] {
  const h = 230;
  const group = (
    p: PeerComparison,
    st: PeerStep,
    pick: (f: PeerFigures) => number,
    digits = 0,
  ) => ({
    label: `${fmt(p.branchObjects)} objects`,
    bars: [
      { value: pick(st.lakeport), color: BLUE, text: fmt(pick(st.lakeport), digits) },
      { value: pick(st.rclone), color: ORANGE, text: fmt(pick(st.rclone), digits) },
    ],
  });
  const requests = (f: PeerFigures) => f.s3Requests + f.lakeFsRequests;
  const panels: [string, (p: PeerComparison) => BarGroup][] = [
    ["first export: seconds", (p) => group(p, p.first, (f) => f.seconds, 1)],
    ["10 changes: seconds", (p) => group(p, p.incremental, (f) => f.seconds, 1)],
    ["first export: requests", (p) => group(p, p.first, requests)],
    ["10 changes: requests", (p) => group(p, p.incremental, requests)],
  ];
  const out: string[] = [];
  panels.forEach(([title, groupOf], i) => {
    out.push(...barPanel({ x: 30 + i * 255, y, w: 225, h }, title, peer.map(groupOf)));
  });
  out.push(
    ...legend(30, y + h + 50, [
      ["Lakeport", BLUE],
      ["rclone sync via the lakeFS S3 gateway", ORANGE],
    ]),
  );
  return out;
}
