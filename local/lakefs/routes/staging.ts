// Writing objects on a branch: uploads (bytes into the storage namespace), staging and
// linking physical addresses, deletions.
import type http from "node:http";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ApiError } from "../api-error";
import { formDataContent } from "../form-data";
import type { EntryValue } from "../graveler";
import { nowSeconds } from "../repository-store";
import { newPhysicalAddress, parseS3Uri } from "../storage";
import {
  BRANCH,
  type Reply,
  type Request,
  type Route,
  type RouteContext,
  requiredPath,
  route,
} from "./routing";
import { objectStatsJson } from "./shapes";

export function stagingRoutes(ctx: RouteContext): Route[] {
  return [
    route("POST", `${BRANCH}/objects`, "uploadObject", (req, p) => uploadObject(ctx, req, p)),
    route("PUT", `${BRANCH}/objects`, "stageObject", async (req, p) => {
      const objectPath = requiredPath(req);
      const body = await req.json();
      const value = entryFromBody(body.physical_address, body, "metadata");
      ctx.model.stageObject(p.repository!, p.branch!, objectPath, value);
      return { status: 201, json: objectStatsJson(objectPath, value, true) };
    }),
    route("DELETE", `${BRANCH}/objects`, "deleteObject", (req, p) => {
      ctx.model.deleteObject(p.repository!, p.branch!, requiredPath(req));
      return { status: 204 };
    }),
    route("POST", `${BRANCH}/objects/delete`, "deleteObjects", async (req, p) => {
      const body = await req.json();
      if (!Array.isArray(body.paths)) throw new ApiError(400, "paths: must be an array");
      const errors: { status_code: number; message: string; path: string }[] = [];
      for (const path of body.paths) {
        try {
          ctx.model.deleteObject(p.repository!, p.branch!, String(path));
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 400) throw err;
          errors.push({ status_code: err.status, message: err.message, path: String(path) });
        }
      }
      return { status: 200, json: { errors } };
    }),
    route("GET", `${BRANCH}/staging/backing`, "getPhysicalAddress", (req, p) => {
      requiredPath(req);
      const repo = ctx.model.getRepository(p.repository!);
      ctx.model.getBranch(p.repository!, p.branch!);
      return {
        status: 200,
        json: { physical_address: newPhysicalAddress(repo.storage_namespace), presigned_url: null },
      };
    }),
    route("PUT", `${BRANCH}/staging/backing`, "linkPhysicalAddress", async (req, p) => {
      const objectPath = requiredPath(req);
      const body = await req.json();
      const staging = body.staging as { physical_address?: unknown } | undefined;
      const value = entryFromBody(staging?.physical_address, body, "user_metadata");
      ctx.model.stageObject(p.repository!, p.branch!, objectPath, value);
      return { status: 200, json: objectStatsJson(objectPath, value, true) };
    }),
  ];
}

/** uploadObject: the bytes go to a new address in the storage namespace, then get staged. */
async function uploadObject(
  ctx: RouteContext,
  req: Request,
  p: Record<string, string>,
): Promise<Reply> {
  const { model } = ctx;
  const objectPath = requiredPath(req);
  const repo = model.getRepository(p.repository!);
  model.getBranch(p.repository!, p.branch!);
  if (req.headers["if-none-match"] === "*") {
    try {
      model.statObject(p.repository!, p.branch!, objectPath);
      throw new ApiError(412, "object already exists");
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
  }
  const header = String(req.headers["content-type"] ?? "application/octet-stream");
  // lakectl and the Python SDK send multipart/form-data; the bytes are its "content" part.
  const form = header.toLowerCase().startsWith("multipart/form-data")
    ? formDataContent(await req.body(), header)
    : undefined;
  const content = form ? form.content : await req.body();
  const ctype = form ? (form.contentType ?? "application/octet-stream") : header;
  const address = newPhysicalAddress(repo.storage_namespace);
  const { bucket, key } = parseS3Uri(address);
  const out = await ctx.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: content,
      ContentLength: content.length,
      ContentType: ctype,
    }),
  );
  const value: EntryValue = {
    a: address,
    c: (out.ETag ?? "").replaceAll('"', ""),
    s: content.length,
    m: nowSeconds(),
    t: ctype,
    ...userMetadataFromHeaders(req.headers),
  };
  model.stageObject(p.repository!, p.branch!, objectPath, value);
  return { status: 201, json: objectStatsJson(objectPath, value, true) };
}

/** A staged entry from a stage/link body; ApiError 400 naming the field when it is not valid. */
export function entryFromBody(
  address: unknown,
  body: Record<string, unknown>,
  metadataField: string,
): EntryValue {
  if (typeof address !== "string" || !address.startsWith("s3://")) {
    throw new ApiError(400, "physical_address: must be an s3:// URI");
  }
  if (typeof body.checksum !== "string") throw new ApiError(400, "checksum: required");
  if (!Number.isInteger(body.size_bytes) || (body.size_bytes as number) < 0) {
    throw new ApiError(400, "size_bytes: must be a non-negative integer");
  }
  const md = body[metadataField];
  if (md !== undefined && (typeof md !== "object" || md === null || Array.isArray(md))) {
    throw new ApiError(400, `${metadataField}: must be an object of strings`);
  }
  const metadata = (md ?? {}) as Record<string, string>;
  return {
    a: address,
    c: body.checksum,
    s: body.size_bytes as number,
    m: Number.isInteger(body.mtime) ? (body.mtime as number) : nowSeconds(),
    t: typeof body.content_type === "string" ? body.content_type : "application/octet-stream",
    ...(Object.keys(metadata).length > 0 ? { md: metadata } : {}),
  };
}

function userMetadataFromHeaders(headers: http.IncomingHttpHeaders): {
  md?: Record<string, string>;
} {
  const md: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-lakefs-meta-") && typeof value === "string") {
      md[name.slice("x-lakefs-meta-".length)] = value;
    }
  }
  return Object.keys(md).length > 0 ? { md } : {};
}
