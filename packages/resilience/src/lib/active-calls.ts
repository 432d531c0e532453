import type { CallScope } from './call-scope.ts';

/**
 * The calls an executor has in flight, for close(): an intrusive doubly linked list, so adding
 * and removing a call (twice per call) costs two pointer writes and no hashing.
 */
export class ActiveCalls {
  #head: CallScope | undefined;

  add(call: CallScope): void {
    call.previous = undefined;
    call.next = this.#head;
    if (this.#head !== undefined) this.#head.previous = call;
    this.#head = call;
  }

  delete(call: CallScope): void {
    const { previous, next } = call;
    if (previous !== undefined) previous.next = next;
    else if (this.#head === call) this.#head = next;
    else return; // not in the list (already taken)
    if (next !== undefined) next.previous = previous;
    call.previous = undefined;
    call.next = undefined;
  }

  /** Empties the list and returns what it held. */
  takeAll(): CallScope[] {
    const calls: CallScope[] = [];
    for (let call = this.#head; call !== undefined; call = call.next) calls.push(call);
    for (const call of calls) {
      call.previous = undefined;
      call.next = undefined;
    }
    this.#head = undefined;
    return calls;
  }
}
