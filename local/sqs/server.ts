// An SQS-compatible endpoint over the in-memory queues (./queues): the AWS JSON 1.0 protocol
// (X-Amz-Target AmazonSQS.<Operation>) that current AWS SDKs speak. Covers what reading a
// dead-letter queue needs: queue lookup, send, receive (long polling), delete, visibility,
// attributes, purge.
import {
  type LocalEndpointHandle,
  listenLocally,
  readBody,
  sendAwsJson,
} from "../aws-json-endpoint";
import { type MessageAttributeValue, SqsError, type SqsQueues } from "./queues";

export type SqsServerHandle = LocalEndpointHandle;

type Body = Record<string, unknown>;

const str = (b: Body, field: string): string => {
  const v = b[field];
  if (typeof v !== "string" || v === "")
    throw new SqsError("MissingParameter", `${field}: required`);
  return v;
};

const optionalInt = (b: Body, field: string, min: number, max: number): number | undefined => {
  const v = b[field];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw new SqsError(
      "InvalidParameterValue",
      `${field}: must be an integer from ${min} to ${max}`,
    );
  }
  return v as number;
};

function operations(queues: SqsQueues): Record<string, (b: Body) => Promise<unknown> | unknown> {
  return {
    CreateQueue: (b) => ({
      QueueUrl: queues.createQueue(
        str(b, "QueueName"),
        (b.Attributes ?? {}) as Record<string, string>,
      ).url,
    }),
    GetQueueUrl: (b) => ({ QueueUrl: queues.get(str(b, "QueueName")).url }),
    ListQueues: (b) => ({
      QueueUrls: queues
        .list(typeof b.QueueNamePrefix === "string" ? b.QueueNamePrefix : "")
        .map((q) => q.url),
    }),
    GetQueueAttributes: (b) => {
      const all = queues.attributes(str(b, "QueueUrl"));
      const names = (b.AttributeNames ?? ["All"]) as string[];
      return {
        Attributes: names.includes("All")
          ? all
          : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k))),
      };
    },
    SendMessage: (b) =>
      queues.send(
        str(b, "QueueUrl"),
        str(b, "MessageBody"),
        (b.MessageAttributes ?? {}) as Record<string, MessageAttributeValue>,
        optionalInt(b, "DelaySeconds", 0, 900) ?? 0,
      ),
    ReceiveMessage: async (b) => {
      const messages = await queues.receive(str(b, "QueueUrl"), {
        max: optionalInt(b, "MaxNumberOfMessages", 1, 10) ?? 1,
        ...(b.VisibilityTimeout !== undefined
          ? { visibilityTimeoutSeconds: optionalInt(b, "VisibilityTimeout", 0, 43_200)! }
          : {}),
        waitTimeSeconds: optionalInt(b, "WaitTimeSeconds", 0, 20) ?? 0,
        attributeNames: [
          ...((b.AttributeNames ?? []) as string[]),
          ...((b.MessageSystemAttributeNames ?? []) as string[]),
        ],
        messageAttributeNames: (b.MessageAttributeNames ?? []) as string[],
      });
      return messages.length ? { Messages: messages } : {};
    },
    DeleteMessage: (b) => {
      queues.deleteMessage(str(b, "QueueUrl"), str(b, "ReceiptHandle"));
      return {};
    },
    ChangeMessageVisibility: (b) => {
      queues.changeVisibility(
        str(b, "QueueUrl"),
        str(b, "ReceiptHandle"),
        optionalInt(b, "VisibilityTimeout", 0, 43_200) ?? 0,
      );
      return {};
    },
    PurgeQueue: (b) => {
      queues.purge(str(b, "QueueUrl"));
      return {};
    },
  };
}

export async function startSqsServer(opts: {
  port?: number;
  queues: SqsQueues;
}): Promise<SqsServerHandle> {
  const ops = operations(opts.queues);
  return listenLocally(async (req, res) => {
    const send = (status: number, body: unknown) =>
      sendAwsJson(res, "application/x-amz-json-1.0", status, body);
    try {
      const target = String(req.headers["x-amz-target"] ?? "");
      const text = await readBody(req);
      const op = target.startsWith("AmazonSQS.")
        ? ops[target.slice("AmazonSQS.".length)]
        : undefined;
      if (!op) {
        throw new SqsError(
          "UnsupportedOperation",
          target
            ? `Operation '${target}' is not supported by the local SQS endpoint`
            : "X-Amz-Target: required (the local SQS endpoint speaks the AWS JSON 1.0 protocol)",
        );
      }
      let body: Body;
      try {
        body = JSON.parse(text || "{}") as Body;
      } catch {
        throw new SqsError("InvalidParameterValue", "the request body is not JSON");
      }
      send(200, await op(body));
    } catch (e) {
      if (e instanceof SqsError) {
        send(e.status, { __type: `com.amazonaws.sqs#${e.code}`, message: e.message });
      } else {
        send(500, { __type: "com.amazonaws.sqs#InternalError", message: (e as Error).message });
      }
    }
  }, opts.port);
}
