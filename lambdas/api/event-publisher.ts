// Port for putting events on the EventBridge bus, and its adapter.
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";

export interface PublishedEvent {
  source: string;
  detailType: string;
  detail: unknown;
}

export interface EventPublisher {
  /** Puts one event; resolves to its event id, rejects if the bus did not take it. */
  publish(event: PublishedEvent): Promise<string>;
}

/**
 * How long one publish may take, retries included. The webhook gives its delivery's claim back
 * when publishing fails; a PutEvents left hanging until the API function's 29 s timeout would
 * keep the claim, and lakeFS's retry of the delivery would be taken for a repeat. A publish
 * that landed after all is published again by the retry: the bus delivers at least once anyway.
 */
export const PUBLISH_DEADLINE_MS = 10_000;

export class EventBridgePublisher implements EventPublisher {
  private readonly deadlineMs: number;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
    opts: { deadlineMs?: number } = {},
  ) {
    this.deadlineMs = opts.deadlineMs ?? PUBLISH_DEADLINE_MS;
  }

  async publish(event: PublishedEvent): Promise<string> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: event.source,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
      { abortSignal: AbortSignal.timeout(this.deadlineMs) },
    );
    const entry = out.Entries?.[0];
    if ((out.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
      throw new Error(
        `PutEvents failed: ${entry?.ErrorCode ?? "unknown"} ${entry?.ErrorMessage ?? ""}`.trim(),
      );
    }
    return entry.EventId;
  }
}
