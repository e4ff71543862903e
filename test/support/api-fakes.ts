// In-memory stand-ins for the API's ports (lakeFS reads, Step Functions, EventBridge), for
// tests that run without the real embedded services.

import type { ApiLakeFs } from "../../lambdas/api/deps";
import type { EventPublisher, PublishedEvent } from "../../lambdas/api/event-publisher";
import { LakeFsNotFoundError } from "../../lambdas/shared/lakefs/errors";
import type {
  LakeFsApi,
  ListOptions,
  Page,
  Ref,
  Repository,
} from "../../lambdas/shared/lakefs/types";
import type { ExecutionDescription, WorkflowStarter } from "../../lambdas/shared/workflow-starter";

const notFound = (what: string) =>
  new LakeFsNotFoundError(`lakeFS: 404 ${what} not found`, 404, "not found");
const unsupported = (name: string) => () => {
  throw new Error(`FakeLakeFs.${name} is not implemented`);
};

/** Repositories and branch heads only: what the API checks. */
export class FakeLakeFs implements ApiLakeFs {
  readonly repositories = new Map<string, { repo: Repository; branches: Map<string, string> }>();

  addRepository(id: string, storageNamespace: string, branches: Record<string, string> = {}) {
    this.repositories.set(id, {
      repo: { id, creation_date: 0, default_branch: "main", storage_namespace: storageNamespace },
      branches: new Map(Object.entries(branches)),
    });
    return this;
  }

  setHead(repository: string, branch: string, commitId: string) {
    const r = this.repositories.get(repository);
    if (!r) throw new Error(`no fake repository ${repository}`);
    r.branches.set(branch, commitId);
  }

  async getRepository(repository: string): Promise<Repository> {
    const r = this.repositories.get(repository);
    if (!r) throw notFound(`repository ${repository}`);
    return r.repo;
  }

  async getBranch(repository: string, branch: string): Promise<Ref> {
    const head = this.repositories.get(repository)?.branches.get(branch);
    if (!head) throw notFound(`branch ${branch}`);
    return { id: branch, commit_id: head };
  }

  /** Every repository in id order, one page (the API reads them all). */
  async *listRepositories(_opts?: ListOptions): AsyncIterable<Page<Repository>> {
    const results = [...this.repositories.values()]
      .map((r) => r.repo)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    yield {
      results,
      pagination: { has_more: false, next_offset: "", results: results.length, max_per_page: 1000 },
    };
  }

  /** The full LakeFsApi (and the repository listing), with the calls the API never makes throwing. */
  asLakeFsApi(): LakeFsApi & ApiLakeFs {
    const empty = async function* (): AsyncIterable<Page<never>> {};
    return {
      getRepository: (r) => this.getRepository(r),
      getBranch: (r, b) => this.getBranch(r, b),
      listRepositories: (o) => this.listRepositories(o),
      getTag: unsupported("getTag"),
      getCommit: unsupported("getCommit"),
      listBranches: empty,
      listTags: empty,
      logCommits: empty,
      listObjects: empty,
      listObjectsPage: unsupported("listObjectsPage"),
      statObject: unsupported("statObject"),
      diffRefs: empty,
      diffRefsPage: unsupported("diffRefsPage"),
      diffBranch: empty,
    };
  }
}

export interface StartedExecution {
  stateMachineArn: string;
  name: string;
  input: unknown;
  executionArn: string;
}

/** Records starts; executions stay RUNNING until `finish` is called. */
export class FakeWorkflowStarter implements WorkflowStarter {
  readonly started: StartedExecution[] = [];
  readonly status = new Map<string, ExecutionDescription["status"]>();
  /** When set, start() rejects with this message. */
  failWith: string | undefined;

  async start(stateMachineArn: string, name: string, input: unknown): Promise<string> {
    if (this.failWith) throw new Error(this.failWith);
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
    if (this.status.has(executionArn)) return executionArn;
    this.started.push({ stateMachineArn, name, input, executionArn });
    this.status.set(executionArn, "RUNNING");
    return executionArn;
  }

  async describe(executionArn: string): Promise<ExecutionDescription> {
    const status = this.status.get(executionArn);
    if (!status) throw new Error(`ExecutionDoesNotExist: ${executionArn}`);
    return {
      executionArn,
      status,
      startDate: "2026-01-01T00:00:00.000Z",
      mapRuns: [
        {
          mapRunArn: `${executionArn}/map`,
          status: status === "RUNNING" ? "RUNNING" : "SUCCEEDED",
          total: 10,
          succeeded: status === "RUNNING" ? 4 : 10,
          failed: 0,
          running: status === "RUNNING" ? 6 : 0,
          pending: 0,
        },
      ],
    };
  }

  finish(executionArn: string, status: ExecutionDescription["status"] = "SUCCEEDED") {
    this.status.set(executionArn, status);
  }
}

export class FakeEventPublisher implements EventPublisher {
  readonly events: PublishedEvent[] = [];
  /** When set, publish() rejects with this message (an Error), or with this error. */
  failWith: string | Error | undefined;

  async publish(event: PublishedEvent): Promise<string> {
    if (this.failWith) {
      throw typeof this.failWith === "string" ? new Error(this.failWith) : this.failWith;
    }
    this.events.push(event);
    return `event-${this.events.length}`;
  }
}
