// lakeFS's presigned multipart upload (createPresignMultipartUpload, completePresign...,
// abortPresign...): the object's bytes go straight to the storage namespace in parts, through
// URLs presigned for S3's UploadPart, and the completed object is staged on the branch. The
// upload id is the storage's own (S3's UploadId), as in lakeFS.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import type { HttpRequest } from "@smithy/types";
import { ApiError } from "../api-error";
import type { EntryValue } from "../graveler";
import { nowSeconds } from "../repository-store";
import { newPhysicalAddress, parseS3Uri } from "../storage";
import {
  BRANCH,
  type Request,
  type Route,
  type RouteContext,
  requiredPath,
  route,
} from "./routing";
import { objectStatsJson } from "./shapes";

const PRESIGNED_URL_SECONDS = 15 * 60;

export function presignMultipartRoutes(ctx: RouteContext): Route[] {
  const pmpu = `${BRANCH}/staging/pmpu`;
  return [
    route("POST", pmpu, "createPresignMultipartUpload", async (req, p) => {
      requiredPath(req);
      const repo = ctx.model.getRepository(p.repository!);
      ctx.model.getBranch(p.repository!, p.branch!);
      const parts = partsCount(req);
      const address = newPhysicalAddress(repo.storage_namespace);
      const { bucket, key } = parseS3Uri(address);
      const created = await ctx.s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
      );
      const uploadId = created.UploadId!;
      const urls: string[] = [];
      for (let n = 1; n <= parts; n++) {
        urls.push(await presignUploadPart(ctx.s3, bucket, key, uploadId, n));
      }
      return {
        status: 201,
        json: {
          upload_id: uploadId,
          physical_address: address,
          ...(parts > 0
            ? {
                presigned_urls: urls,
                presigned_url_expiry: nowSeconds() + PRESIGNED_URL_SECONDS,
              }
            : {}),
        },
      };
    }),
    route("PUT", `${pmpu}/:uploadId`, "completePresignMultipartUpload", async (req, p) => {
      const objectPath = requiredPath(req);
      ctx.model.getBranch(p.repository!, p.branch!);
      const body = await req.json();
      const { bucket, key, address } = addressOf(body);
      const parts = uploadedParts(body.parts);
      await s3Call(() =>
        ctx.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: p.uploadId!,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
      const head = await ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const md = body.user_metadata;
      if (md !== undefined && (typeof md !== "object" || md === null || Array.isArray(md))) {
        throw new ApiError(400, "user_metadata: must be an object of strings");
      }
      const value: EntryValue = {
        a: address,
        c: (head.ETag ?? "").replaceAll('"', ""),
        s: head.ContentLength ?? 0,
        m: nowSeconds(),
        t: typeof body.content_type === "string" ? body.content_type : "application/octet-stream",
        ...(md && Object.keys(md).length > 0 ? { md: md as Record<string, string> } : {}),
      };
      ctx.model.stageObject(p.repository!, p.branch!, objectPath, value);
      return { status: 200, json: objectStatsJson(objectPath, value, true) };
    }),
    route("DELETE", `${pmpu}/:uploadId`, "abortPresignMultipartUpload", async (req, p) => {
      requiredPath(req);
      ctx.model.getBranch(p.repository!, p.branch!);
      const { bucket, key } = addressOf(await req.json());
      await s3Call(() =>
        ctx.s3.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: p.uploadId! }),
        ),
      );
      return { status: 204 };
    }),
  ];
}

function partsCount(req: Request): number {
  const raw = req.query.get("parts");
  if (raw === null) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new ApiError(400, "parts: must be an integer from 1 to 10000");
  }
  return n;
}

function addressOf(body: Record<string, unknown>) {
  const address = body.physical_address;
  if (typeof address !== "string" || !address.startsWith("s3://")) {
    throw new ApiError(400, "physical_address: must be the s3:// address of the upload");
  }
  return { address, ...parseS3Uri(address) };
}

function uploadedParts(raw: unknown): { PartNumber: number; ETag: string }[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ApiError(400, "parts: must be a non-empty list of {part_number, etag}");
  }
  return raw.map((part, i) => {
    const { part_number: n, etag } = (part ?? {}) as { part_number?: unknown; etag?: unknown };
    if (!Number.isInteger(n) || (n as number) < 1) {
      throw new ApiError(400, `parts[${i}].part_number: must be a positive integer`);
    }
    if (typeof etag !== "string" || etag === "") {
      throw new ApiError(400, `parts[${i}].etag: required`);
    }
    return { PartNumber: n as number, ETag: etag };
  });
}

/** S3's answers about an upload, as lakeFS reports them. */
async function s3Call<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const name = (err as Error).name;
    if (name === "NoSuchUpload") throw new ApiError(404, "multipart upload not found");
    if (name === "InvalidPart" || name === "InvalidPartOrder" || name === "EntityTooSmall") {
      throw new ApiError(400, `parts: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** A URL presigned (SigV4, query parameters) for S3's UploadPart of part `n`. */
async function presignUploadPart(
  s3: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
  n: number,
): Promise<string> {
  const endpoint = await s3.config.endpoint!();
  const path = `${endpoint.path.replace(/\/$/, "")}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const signer = new SignatureV4({
    service: "s3",
    region: await s3.config.region(),
    credentials: s3.config.credentials,
    sha256: s3.config.sha256,
    uriEscapePath: false,
  });
  const request: HttpRequest = {
    method: "PUT",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: endpoint.port } : {}),
    path,
    query: { partNumber: String(n), uploadId },
    headers: { host: `${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ""}` },
  };
  const signed = await signer.presign(request, { expiresIn: PRESIGNED_URL_SECONDS });
  const query = new URLSearchParams(signed.query as Record<string, string>).toString();
  return `${endpoint.protocol}//${signed.hostname}${endpoint.port ? `:${endpoint.port}` : ""}${signed.path}?${query}`;
}
