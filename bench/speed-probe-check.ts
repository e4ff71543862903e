// Does the speed probe follow the machine? `npx tsx bench/speed-probe-check.ts` runs the
// ceiling loop (2 x 32, the export's request) SAMPLES times (default 14) for COPIES copies each
// (default 25 000) against a fresh embedded S3, with the probe running, and prints each sample's
// rate and probe reading, their correlation, and the spread of the rates (coefficient of
// variation) as measured and scaled by the probe.
import { rm } from "node:fs/promises";
import { S3Client } from "@aws-sdk/client-s3";
import { LOCAL_S3_CREDENTIALS, startS3Server } from "../local/s3/server";
import { defaultDataRoot } from "./env";
import { measureCopyCeiling } from "./s3-ceiling";
import { startSpeedProbe } from "./speed-probe";

const samples = Number(process.env.SAMPLES ?? 14);
const copies = Number(process.env.COPIES ?? 25_000);

function correlation(x: number[], y: number[]): number {
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sx = 0;
  let sy = 0;
  x.forEach((xi, i) => {
    const yi = y[i] as number;
    sxy += (xi - mx) * (yi - my);
    sx += (xi - mx) ** 2;
    sy += (yi - my) ** 2;
  });
  return sxy / Math.sqrt(sx * sy);
}

function coefficientOfVariation(a: number[]): number {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length) / m;
}

const dir = `${defaultDataRoot()}/lakeport-speed-probe-check-${process.pid}`;
const server = await startS3Server({ directory: dir });
const credentials = { ...LOCAL_S3_CREDENTIALS };
const s3 = new S3Client({
  endpoint: server.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials,
});
const probe = startSpeedProbe();
const rates: number[] = [];
const nanos: number[] = [];
try {
  for (let i = 0; i < samples; i++) {
    const bucket = `probe-check-${i}`;
    const c = await measureCopyCeiling(s3, {
      endpoint: server.endpoint,
      credentials,
      bucket,
      sources: 1000,
      copies,
      settings: [[2, 32]],
      body: "ceiling object body, about the size of the exported ones\n",
      request: "export",
    });
    const ns = await probe.nanosPerItem(c.startedAtMs, c.endedAtMs);
    await rm(`${dir}/${bucket}`, { recursive: true, force: true });
    if (ns === undefined) throw new Error("the probe gave no reading");
    rates.push(c.objectsPerSecond);
    nanos.push(ns);
    console.log(
      `sample ${i + 1}: ${c.objectsPerSecond.toFixed(0)} copies/s, probe ${ns.toFixed(0)} ns per item`,
    );
  }
  const scaled = rates.map((r, i) => r * (nanos[i] as number));
  console.log(
    `correlation of rate and probe speed ${correlation(
      rates,
      nanos.map((n) => 1 / n),
    ).toFixed(
      2,
    )}; spread of the rates ${(coefficientOfVariation(rates) * 100).toFixed(1)} % as measured, ${(coefficientOfVariation(scaled) * 100).toFixed(1)} % scaled by the probe`,
  );
} finally {
  probe.stop();
  s3.destroy();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
