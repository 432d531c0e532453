import { switchyardChannels, TypedEmitter, type TypedEmitterOptions } from '@switchyard/core';
import type { ClientEvents } from './client-events.ts';

const { event: eventChannel } = switchyardChannels;

/**
 * The client's events, also published on core's `switchyard:event` diagnostics channel (with
 * the client, so subscribers serving one client can tell them apart) when anyone subscribes.
 */
export class ClientEmitter extends TypedEmitter<ClientEvents> {
  readonly #client: object;

  constructor(client: object, options: TypedEmitterOptions) {
    super(options);
    this.#client = client;
  }

  override emit<K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]): void {
    if (eventChannel.hasSubscribers)
      eventChannel.publish({ client: this.#client, name: String(event), payload });
    super.emit(event, payload);
  }
}
