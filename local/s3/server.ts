// Embedded S3: s3rver (filesystem store) on a private loopback port, behind the Lakeport proxy
// (./proxy) that clients use. The proxy fills s3rver's gaps and carries the test facilities
// (request counters, deny rules, throttling) reachable as `admin` here or over HTTP.
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { S3Admin } from "./admin";
import { startS3Proxy } from "./proxy";
import { type S3rverStore, StoreLayout } from "./store-layout";

export { S3Admin } from "./admin";
export { S3AdminClient } from "./admin-client";
export { LOCAL_S3_CREDENTIALS } from "./credentials";

export interface S3ServerHandle {
  /** The proxy's URL: what every client uses. */
  endpoint: string;
  port: number;
  /** In-process access to counters, deny rules and throttling. */
  admin: S3Admin;
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Where objects are kept on disk. */
  directory: string;
}

export async function startS3Server(opts: S3ServerOptions): Promise<S3ServerHandle> {
  await mkdir(opts.directory, { recursive: true });
  const s3rver = new S3rver({
    port: 0,
    address: "127.0.0.1",
    directory: opts.directory,
    silent: true,
  });
  const { port: upstreamPort } = (await s3rver.run()) as AddressInfo;
  const admin = new S3Admin();
  let proxy: Awaited<ReturnType<typeof startS3Proxy>>;
  try {
    proxy = await startS3Proxy({
      upstreamPort,
      layout: new StoreLayout(s3rver.store as S3rverStore),
      admin,
      port: opts.port ?? 0,
    });
  } catch (err) {
    await s3rver.close();
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${proxy.port}`,
    port: proxy.port,
    admin,
    stop: async () => {
      await proxy.close();
      await s3rver.close();
    },
  };
}
