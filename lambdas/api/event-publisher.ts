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

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

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
