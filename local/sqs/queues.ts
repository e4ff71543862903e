// In-memory SQS queues for the embedded environment: what the deployment's dead-letter queues
// need (send, receive with a visibility timeout, delete, attributes), with SQS's MD5 digests
// so the AWS SDK's checks pass. Messages live as long as the process.
import { createHash, randomUUID } from "node:crypto";

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, MessageAttributeValue>;
  MD5OfMessageAttributes?: string;
}

interface Stored {
  id: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receipt?: string;
}

export interface LocalQueue {
  name: string;
  arn: string;
  url: string;
  attributes: Record<string, string>;
  messages: Stored[];
  waiters: (() => void)[];
}

export class SqsError extends Error {
  constructor(
    /** SQS's error code, e.g. QueueDoesNotExist. */
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("hex");

/** SQS's MD5OfMessageAttributes: names sorted, each length-prefixed with type and value. */
export function md5OfMessageAttributes(attrs: Record<string, MessageAttributeValue>): string {
  const parts: Buffer[] = [];
  const lengthPrefixed = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of Object.keys(attrs).sort()) {
    const v = attrs[name]!;
    lengthPrefixed(Buffer.from(name, "utf8"));
    lengthPrefixed(Buffer.from(v.DataType, "utf8"));
    const binary = v.DataType.startsWith("Binary");
    parts.push(Buffer.from([binary ? 2 : 1]));
    lengthPrefixed(
      binary
        ? Buffer.from(v.BinaryValue ?? "", "base64")
        : Buffer.from(v.StringValue ?? "", "utf8"),
    );
  }
  return md5(Buffer.concat(parts));
}

export interface SqsQueuesOptions {
  region?: string;
  accountId?: string;
  /** The SQS endpoint queue URLs start with (default AWS's regional one). */
  endpoint?: string;
}

export class SqsQueues {
  private readonly queues = new Map<string, LocalQueue>();
  readonly region: string;
  readonly accountId: string;
  private endpoint: string;

  constructor(opts: SqsQueuesOptions = {}) {
    this.region = opts.region ?? "us-east-1";
    this.accountId = opts.accountId ?? "000000000000";
    this.endpoint = opts.endpoint ?? `https://sqs.${this.region}.amazonaws.com`;
  }

  /** Where the queues are served (queue URLs start with it); set before queues exist. */
  setEndpoint(endpoint: string): void {
    this.endpoint = endpoint.replace(/\/$/, "");
  }

  queueUrlOf(name: string): string {
    return `${this.endpoint}/${this.accountId}/${name}`;
  }

  queueArnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  /** CreateQueue: an existing queue of that name is returned as it is. */
  createQueue(name: string, attributes: Record<string, string> = {}): LocalQueue {
    if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name)) {
      throw new SqsError("InvalidParameterValue", `QueueName: "${name}" is not a valid queue name`);
    }
    const existing = this.queues.get(name);
    if (existing) return existing;
    const q: LocalQueue = {
      name,
      arn: this.queueArnOf(name),
      url: this.queueUrlOf(name),
      attributes: {
        VisibilityTimeout: "30",
        MessageRetentionPeriod: "345600",
        ...attributes,
      },
      messages: [],
      waiters: [],
    };
    this.queues.set(name, q);
    return q;
  }

  list(prefix = ""): LocalQueue[] {
    return [...this.queues.values()].filter((q) => q.name.startsWith(prefix));
  }

  /** A queue by URL (any host: only the account and name count), ARN or name. */
  get(urlArnOrName: string): LocalQueue {
    const name = urlArnOrName.startsWith("arn:")
      ? urlArnOrName.split(":").at(-1)!
      : urlArnOrName.split("/").at(-1)!;
    const q = this.queues.get(name);
    if (!q) {
      throw new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
    }
    return q;
  }

  send(
    queue: string,
    body: string,
    attributes: Record<string, MessageAttributeValue> = {},
    delaySeconds = 0,
  ): { MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes?: string } {
    const q = this.get(queue);
    if (body.length === 0) throw new SqsError("MissingParameter", "MessageBody: required");
    if (Buffer.byteLength(body) > 262_144) {
      throw new SqsError("InvalidParameterValue", "MessageBody: longer than 262144 bytes");
    }
    const now = Date.now();
    const id = randomUUID();
    q.messages.push({
      id,
      body,
      attributes,
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
    });
    for (const w of q.waiters.splice(0)) w();
    return {
      MessageId: id,
      MD5OfMessageBody: md5(body),
      ...(Object.keys(attributes).length
        ? { MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }
        : {}),
    };
  }

  /** ReceiveMessage: up to `max` visible messages, hidden for the visibility timeout. */
  async receive(
    queue: string,
    opts: {
      max?: number;
      visibilityTimeoutSeconds?: number;
      waitTimeSeconds?: number;
      attributeNames?: string[];
      messageAttributeNames?: string[];
    } = {},
  ): Promise<ReceivedMessage[]> {
    const q = this.get(queue);
    const max = opts.max ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw new SqsError("InvalidParameterValue", "MaxNumberOfMessages: must be from 1 to 10");
    }
    const deadline = Date.now() + (opts.waitTimeSeconds ?? 0) * 1000;
    for (;;) {
      const now = Date.now();
      this.expire(q, now);
      const visible = q.messages.filter((m) => m.visibleAt <= now).slice(0, max);
      if (visible.length > 0 || now >= deadline) {
        const hideFor =
          (opts.visibilityTimeoutSeconds ?? Number(q.attributes.VisibilityTimeout)) * 1000;
        return visible.map((m) => this.deliver(m, now, hideFor, opts));
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(deadline - now, 1000));
        q.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private deliver(
    m: Stored,
    now: number,
    hideForMs: number,
    opts: { attributeNames?: string[]; messageAttributeNames?: string[] },
  ): ReceivedMessage {
    m.receiveCount++;
    m.firstReceivedAt ??= now;
    m.visibleAt = now + hideForMs;
    m.receipt = Buffer.from(`${m.id}:${randomUUID()}`).toString("base64");
    const system: Record<string, string> = {
      SenderId: this.accountId,
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
    };
    const wanted = opts.attributeNames ?? [];
    const attributes = Object.fromEntries(
      Object.entries(system).filter(([k]) => wanted.includes("All") || wanted.includes(k)),
    );
    const names = opts.messageAttributeNames ?? [];
    const userAttrs = Object.fromEntries(
      Object.entries(m.attributes).filter(
        ([k]) =>
          names.includes("All") ||
          names.includes(".*") ||
          names.some((n) => n === k || (n.endsWith(".*") && k.startsWith(n.slice(0, -1)))),
      ),
    );
    return {
      MessageId: m.id,
      ReceiptHandle: m.receipt,
      MD5OfBody: md5(m.body),
      Body: m.body,
      ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
      ...(Object.keys(userAttrs).length
        ? {
            MessageAttributes: userAttrs,
            MD5OfMessageAttributes: md5OfMessageAttributes(userAttrs),
          }
        : {}),
    };
  }

  private findByReceipt(q: LocalQueue, receiptHandle: string): Stored | undefined {
    return q.messages.find((m) => m.receipt === receiptHandle);
  }

  /** DeleteMessage: deleting a message already gone is not an error (as in SQS). */
  deleteMessage(queue: string, receiptHandle: string): void {
    const q = this.get(queue);
    if (!receiptHandle) throw new SqsError("MissingParameter", "ReceiptHandle: required");
    const m = this.findByReceipt(q, receiptHandle);
    if (!m) {
      const id = Buffer.from(receiptHandle, "base64").toString().split(":")[0] ?? "";
      if (!/^[0-9a-f-]{36}$/.test(id)) {
        throw new SqsError(
          "ReceiptHandleIsInvalid",
          `The input receipt handle "${receiptHandle}" is not valid.`,
        );
      }
      return;
    }
    q.messages.splice(q.messages.indexOf(m), 1);
  }

  changeVisibility(queue: string, receiptHandle: string, seconds: number): void {
    const q = this.get(queue);
    const m = this.findByReceipt(q, receiptHandle);
    if (!m)
      throw new SqsError(
        "MessageNotInflight",
        "Message does not exist or is not available for visibility timeout change.",
      );
    m.visibleAt = Date.now() + seconds * 1000;
    if (seconds === 0) for (const w of q.waiters.splice(0)) w();
  }

  purge(queue: string): void {
    this.get(queue).messages.length = 0;
  }

  /** GetQueueAttributes: the queue's own plus the approximate counts. */
  attributes(queue: string): Record<string, string> {
    const q = this.get(queue);
    const now = Date.now();
    this.expire(q, now);
    return {
      ...q.attributes,
      QueueArn: q.arn,
      ApproximateNumberOfMessages: String(q.messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(
        q.messages.filter((m) => m.visibleAt > now).length,
      ),
    };
  }

  private expire(q: LocalQueue, now: number): void {
    const keepMs = Number(q.attributes.MessageRetentionPeriod) * 1000;
    q.messages = q.messages.filter((m) => now - m.sentAt < keepMs);
  }
}
