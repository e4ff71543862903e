// Reading the objects of a ref: bytes (ranges included), headers, stats and listings.
import type { Readable } from "node:stream";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { ApiError } from "../api-error";
import { isMissingObject, parseS3Uri } from "../storage";
import {
  after,
  amount,
  listReply,
  REF,
  type Route,
  type RouteContext,
  requiredPath,
  route,
} from "./routing";
import { objectStatsJson } from "./shapes";

export function objectReadRoutes(ctx: RouteContext): Route[] {
  return [
    route("GET", `${REF}/objects`, "getObject", async (req, p) => {
      const objectPath = requiredPath(req);
      const value = ctx.model.statObject(p.repository!, p.ref!, objectPath);
      const { bucket, key } = parseS3Uri(value.a);
      const range = typeof req.headers.range === "string" ? req.headers.range : undefined;
      try {
        const out = await ctx.s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }),
        );
        return {
          status: range ? 206 : 200,
          stream: out.Body as Readable,
          headers: {
            "content-type": value.t || "application/octet-stream",
            "content-length": String(out.ContentLength ?? value.s),
            etag: `"${value.c}"`,
            "last-modified": new Date(value.m * 1000).toUTCString(),
            ...(out.ContentRange ? { "content-range": out.ContentRange } : {}),
          },
        };
      } catch (err) {
        if (isMissingObject(err)) throw new ApiError(410, "No data");
        throw err;
      }
    }),
    route("HEAD", `${REF}/objects`, "headObject", (req, p) => {
      const value = ctx.model.statObject(p.repository!, p.ref!, requiredPath(req));
      return {
        status: 200,
        headers: {
          "content-length": String(value.s),
          etag: `"${value.c}"`,
          "last-modified": new Date(value.m * 1000).toUTCString(),
        },
      };
    }),
    route("GET", `${REF}/objects/stat`, "statObject", (req, p) => {
      const objectPath = requiredPath(req);
      const value = ctx.model.statObject(p.repository!, p.ref!, objectPath);
      return {
        status: 200,
        json: objectStatsJson(objectPath, value, req.query.get("user_metadata") !== "false"),
      };
    }),
    route("GET", `${REF}/objects/ls`, "listObjects", (req, p) => {
      const n = amount(req);
      const withMetadata = req.query.get("user_metadata") !== "false";
      const page = ctx.model.listObjects(p.repository!, p.ref!, {
        after: after(req),
        prefix: req.query.get("prefix") ?? "",
        delimiter: req.query.get("delimiter") ?? "",
        amount: n,
      });
      return listReply(
        page,
        n,
        (e) => e.path,
        (e) =>
          e.value
            ? objectStatsJson(e.path, e.value, withMetadata)
            : {
                path: e.path,
                path_type: "common_prefix",
                physical_address: "",
                checksum: "",
                mtime: 0,
              },
      );
    }),
  ];
}
