/**
 * In-process signals of the content service to its open streams: newly published posts for
 * WatchPosts, and "an outbox event committed" for WatchPostEvents (which then reads the
 * outbox: the rows are the truth, the signal only saves it a poll). One closeAll ends both
 * kinds at shutdown.
 */
import type { PostRecord } from './content-store';

type Listener = (post: PostRecord) => void;

interface Watcher {
  onPost?: Listener;
  onCommit?: () => void;
  /** Called when the service shuts down, so the stream can end and the server can drain. */
  onClose: () => void;
}

/** Subscribers of publish and outbox-commit signals. */
export class PostEvents {
  private readonly watchers = new Set<Watcher>();

  /** Registers a watcher of published posts; returns the function that removes it. */
  subscribe(onPost: Listener, onClose: () => void): () => void {
    return this.add({ onPost, onClose });
  }

  /** Registers a watcher of outbox commits; returns the function that removes it. */
  subscribeCommits(onCommit: () => void, onClose: () => void): () => void {
    return this.add({ onCommit, onClose });
  }

  /** Tells every watcher about a newly published post. */
  published(post: PostRecord): void {
    for (const w of this.watchers) w.onPost?.(post);
  }

  /** Tells every outbox watcher that a new event committed. */
  committed(): void {
    for (const w of this.watchers) w.onCommit?.();
  }

  /** Ends every watch (service shutdown). */
  closeAll(): void {
    for (const w of [...this.watchers]) w.onClose();
    this.watchers.clear();
  }

  get size(): number {
    return this.watchers.size;
  }

  private add(watcher: Watcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}
