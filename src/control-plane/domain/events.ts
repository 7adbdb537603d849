/**
 * In-process bus of resource changes. Publishing happens only after the batch that made
 * the change committed, so subscribers (/v1/events) never see a change that was rolled back.
 */
import { EventEmitter } from 'node:events';
import type { ChangeEvent } from './types.js';

export class ChangeBus {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(0);
  }

  publish(e: ChangeEvent): void {
    this.ee.emit('change', e);
  }

  subscribe(fn: (e: ChangeEvent) => void): () => void {
    this.ee.on('change', fn);
    return () => this.ee.off('change', fn);
  }
}
