import type { ConsulNodeRecord } from './consul-catalog.ts';
import type { ConsulCheckRecord, ConsulServiceRecord } from './consul-records.ts';

/** One element of a `/v1/health/service/:name` answer, with Consul's field names and casing. */
export interface ConsulHealthEntry {
  readonly Node: ConsulNodeRecord;
  readonly Service: Record<string, unknown>;
  readonly Checks: readonly Record<string, unknown>[];
}

/** Renders a record the way Consul's health endpoint does: node, service, node + service checks. */
export function renderHealthEntry(record: ConsulServiceRecord, node: ConsulNodeRecord): ConsulHealthEntry {
  return {
    Node: node,
    Service: {
      ID: record.ID,
      Service: record.Service,
      Tags: record.Tags,
      Address: record.Address,
      Meta: record.Meta,
      Port: record.Port,
      Weights: record.Weights,
      EnableTagOverride: record.EnableTagOverride,
      Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
      Connect: {},
      PeerName: '',
      CreateIndex: record.CreateIndex,
      ModifyIndex: record.ModifyIndex,
    },
    Checks: [serfHealth(node), ...record.checks.map((check) => renderCheck(check, record))],
  };
}

/** Whether every check of the entry passes: Consul's `?passing` filter (warning does not pass). */
export function allPassing(record: ConsulServiceRecord): boolean {
  return record.checks.every((check) => check.Status === 'passing');
}

function renderCheck(check: ConsulCheckRecord, record: ConsulServiceRecord): Record<string, unknown> {
  return {
    Node: record.node,
    CheckID: check.CheckID,
    Name: check.Name,
    Status: check.Status,
    Notes: check.Notes,
    Output: check.Output,
    ServiceID: check.ServiceID,
    ServiceName: check.ServiceName,
    ServiceTags: record.Tags,
    Type: check.Type,
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
    CreateIndex: check.CreateIndex,
    ModifyIndex: check.ModifyIndex,
  };
}

/** The node-level check every Consul node carries. The mock's nodes are always alive. */
function serfHealth(node: ConsulNodeRecord): Record<string, unknown> {
  return {
    Node: node.Node,
    CheckID: 'serfHealth',
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
    CreateIndex: node.CreateIndex,
    ModifyIndex: node.ModifyIndex,
  };
}
