// Output of a benchmark run: the results document (JSON), a plain-text table for the terminal
// and the README, and an SVG chart written by hand (no browser): export throughput next to
// the S3 ceiling, and the incremental export counts per branch size.
import type { ColdStartResult } from "./cold-start";
import type { CostBreakdown, PriceList } from "./cost-model";
import type { MachineInfo } from "./machine";

export interface ExportThroughput {
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  ratioToCeiling: number;
}

export interface IncrementalExport {
  branchObjects: number;
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
  objects: number;
  commits: number;
  branches: number;
  expectedSwept: number;
  swept: number;
  markSeconds: number;
  sweepSeconds: number;
  lakeFsCalls: number;
  s3Requests: number;
  s3ByOperation: Record<string, number>;
  maxPeakHeapMiB: number;
  maxPeakHeapFunction: string;
}

export interface CostEntry {
  work: "export" | "sweep";
  basedOn: string;
  lakeport: CostBreakdown;
  s3BatchOperations: CostBreakdown & { note: string };
}

export interface BenchResults {
  date: string;
  profile: "quick" | "full";
  machine: MachineInfo;
  /** Where the embedded S3 kept its files (a tmpfs when available). */
  dataDirectory?: string;
  totalSeconds: number;
  ceiling?: {
    objectsPerSecond: number;
    /** Worker threads running the loop, and requests in flight in each. */
    threads?: number;
    concurrency: number;
    copies: number;
    tried?: { threads: number; concurrency: number; objectsPerSecond: number }[];
  };
  exportThroughput?: ExportThroughput;
  incremental: IncrementalExport[];
  gc: GcMeasurement[];
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

/** Markdown tables (they read fine in a terminal too). */
export function renderTables(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [
    `Lakeport benchmark, ${r.profile} profile, ${r.date}`,
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, Node.js ${m.node}; run took ${fmt(r.totalSeconds)} s`,
    "",
  ];
  const tp: string[][] = [];
  if (r.ceiling) {
    tp.push([
      "S3 ceiling (CopyObject loop)",
      fmt(r.ceiling.copies),
      "",
      fmt(r.ceiling.objectsPerSecond),
      "1.00",
    ]);
  }
  if (r.exportThroughput) {
    const e = r.exportThroughput;
    tp.push([
      "First export",
      fmt(e.objects),
      fmt(e.seconds, 1),
      fmt(e.objectsPerSecond),
      fmt(e.ratioToCeiling, 2),
    ]);
  }
  if (tp.length) {
    out.push(table(["throughput", "objects", "s", "objects/s", "ratio"], tp), "");
  }
  if (r.incremental.length) {
    out.push(
      table(
        ["incremental export (10 changed)", "s", "S3 requests", "lakeFS calls"],
        r.incremental.map((i) => [
          `branch of ${fmt(i.branchObjects)}${i.verified ? "" : " (WRONG DATA)"}`,
          fmt(i.seconds, 1),
          fmt(i.s3Requests),
          fmt(i.lakeFsCalls),
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
        ],
        r.gc.map((g) => [
          `${fmt(g.objects)} objects, ${g.branches} branches`,
          fmt(g.commits),
          fmt(g.swept),
          fmt(g.markSeconds, 1),
          fmt(g.sweepSeconds, 1),
          fmt(g.lakeFsCalls),
          fmt(g.s3Requests),
          fmt(g.maxPeakHeapMiB, 1),
        ]),
      ),
      "",
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

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Two panels: objects/s (ceiling vs export) and incremental counts per branch size. */
export function renderSvg(r: BenchResults): string {
  const W = 760;
  const H = 340;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(`Lakeport benchmark ${r.date.slice(0, 10)} (${r.profile}; ${r.machine.cpus} CPUs, Node.js ${r.machine.node})`)}</text>`,
  ];
  // Panel 1: throughput bars.
  const bars: [string, number, string][] = [];
  if (r.ceiling) bars.push(["S3 ceiling", r.ceiling.objectsPerSecond, "#888"]);
  if (r.exportThroughput) bars.push(["export", r.exportThroughput.objectsPerSecond, "#2a6fdb"]);
  const p1 = { x: 40, y: 50, w: 260, h: 220 };
  parts.push(`<text x="${p1.x}" y="${p1.y - 12}" font-weight="bold">objects/s</text>`);
  const max1 = Math.max(1, ...bars.map((b) => b[1]));
  bars.forEach(([label, v, color], i) => {
    const bw = 80;
    const x = p1.x + 30 + i * (bw + 40);
    const h = (v / max1) * p1.h;
    parts.push(
      `<rect x="${x}" y="${p1.y + p1.h - h}" width="${bw}" height="${h}" fill="${color}"/>`,
      `<text x="${x + bw / 2}" y="${p1.y + p1.h - h - 4}" text-anchor="middle">${fmt(v)}</text>`,
      `<text x="${x + bw / 2}" y="${p1.y + p1.h + 16}" text-anchor="middle">${esc(label)}</text>`,
    );
  });
  if (r.exportThroughput) {
    parts.push(
      `<text x="${p1.x}" y="${p1.y + p1.h + 36}">ratio ${fmt(r.exportThroughput.ratioToCeiling, 2)} (${fmt(r.exportThroughput.objects)} objects)</text>`,
    );
  } else parts.push(`<text x="${p1.x}" y="${p1.y + p1.h + 36}">export not measured</text>`);
  parts.push(
    `<line x1="${p1.x}" y1="${p1.y + p1.h}" x2="${p1.x + p1.w}" y2="${p1.y + p1.h}" stroke="black"/>`,
  );
  // Panel 2: incremental counts (grouped bars: S3 requests, lakeFS calls) per branch size.
  const p2 = { x: 360, y: 50, w: 380, h: 220 };
  parts.push(
    `<text x="${p2.x}" y="${p2.y - 12}" font-weight="bold">incremental export of 10 changes: requests</text>`,
  );
  const inc = r.incremental;
  const max2 = Math.max(1, ...inc.flatMap((i) => [i.s3Requests, i.lakeFsCalls]));
  const gw = inc.length ? p2.w / inc.length : p2.w;
  inc.forEach((i, k) => {
    const x0 = p2.x + k * gw + 10;
    const bw = Math.min(50, (gw - 30) / 2);
    const series: [number, string][] = [
      [i.s3Requests, "#2a6fdb"],
      [i.lakeFsCalls, "#e08a1e"],
    ];
    series.forEach(([v, color], j) => {
      const h = (v / max2) * p2.h;
      const x = x0 + j * (bw + 4);
      parts.push(
        `<rect x="${x}" y="${p2.y + p2.h - h}" width="${bw}" height="${h}" fill="${color}"/>`,
        `<text x="${x + bw / 2}" y="${p2.y + p2.h - h - 4}" text-anchor="middle">${fmt(v)}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + bw}" y="${p2.y + p2.h + 16}" text-anchor="middle">${fmt(i.branchObjects)} objects</text>`,
    );
  });
  if (!inc.length) parts.push(`<text x="${p2.x}" y="${p2.y + 40}">not measured</text>`);
  parts.push(
    `<line x1="${p2.x}" y1="${p2.y + p2.h}" x2="${p2.x + p2.w}" y2="${p2.y + p2.h}" stroke="black"/>`,
    `<rect x="${p2.x}" y="${H - 30}" width="10" height="10" fill="#2a6fdb"/><text x="${p2.x + 14}" y="${H - 21}">S3 requests</text>`,
    `<rect x="${p2.x + 110}" y="${H - 30}" width="10" height="10" fill="#e08a1e"/><text x="${p2.x + 124}" y="${H - 21}">lakeFS calls</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
