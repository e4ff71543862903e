// Embedded S3: s3rver (filesystem store) on a loopback port.
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";

export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface S3ServerHandle {
  endpoint: string;
  port: number;
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
  const server = new S3rver({
    port: opts.port ?? 0,
    address: "127.0.0.1",
    directory: opts.directory,
    silent: true,
  });
  const { port } = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => server.close(),
  };
}
