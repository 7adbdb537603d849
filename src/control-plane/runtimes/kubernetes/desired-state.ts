import type { NodeSpec } from '../runtime.js';
import { NodeMap, type NodeRef } from './reconcile-request.js';

/**
 * What the runtime was asked for: node specs to run (from apply(), or restored from the
 * ConfigMaps it wrote), nodes to delete, and consortia whose shared objects and namespace go once
 * their last node is gone. The reconcile loop reads it; apply/delete/restore write it.
 */
export class DesiredState {
  private readonly desired = new NodeMap<NodeSpec>();
  private readonly deleting = new NodeMap<NodeRef>();
  /** Consortia whose nodes this runtime deleted: remove their namespace once no node is left. */
  private readonly cleanup = new Set<string>();

  spec(r: NodeRef): NodeSpec | undefined {
    return this.desired.get(r);
  }
  deletion(r: NodeRef): NodeRef | undefined {
    return this.deleting.get(r);
  }

  specs(consortiumId?: string): NodeSpec[] {
    return [...this.desired.values()].filter((s) => consortiumId === undefined || s.consortiumId === consortiumId);
  }

  hasNodes(consortiumId: string): boolean {
    return this.specs(consortiumId).length > 0;
  }

  deletionsPending(consortiumId: string): boolean {
    return [...this.deleting.values()].some((r) => r.consortiumId === consortiumId);
  }

  run(spec: NodeSpec): void {
    this.deleting.delete(spec);
    this.desired.set(spec, spec);
  }

  remove(r: NodeRef): void {
    this.desired.delete(r);
    this.deleting.set(r, { nodeId: r.nodeId, consortiumId: r.consortiumId });
  }

  /** A node's objects are gone: its consortium may be cleaned up once no node is left. */
  removed(r: NodeRef): void {
    this.deleting.delete(r);
    this.cleanup.add(r.consortiumId);
  }

  /** From a ConfigMap found at start: what this process was already asked for wins. */
  restore(spec: NodeSpec, deleting: boolean): void {
    if (deleting) {
      if (!this.desired.has(spec)) this.deleting.set(spec, { nodeId: spec.nodeId, consortiumId: spec.consortiumId });
    } else if (!this.desired.has(spec) && !this.deleting.has(spec)) {
      this.desired.set(spec, spec);
    }
  }

  markCleanup(consortiumId: string): void {
    this.cleanup.add(consortiumId);
  }
  needsCleanup(consortiumId: string): boolean {
    return this.cleanup.has(consortiumId);
  }
  cleanedUp(consortiumId: string): void {
    this.cleanup.delete(consortiumId);
  }
}
