/** In-process fan-out of newly published posts to WatchPosts streams. */
import type { PostRecord } from './content-store';

type Listener = (post: PostRecord) => void;

interface Watcher {
  onPost: Listener;
  /** Called when the service shuts down, so the stream can end and the server can drain. */
  onClose: () => void;
}

/** Subscribers of publish events. */
export class PostEvents {
  private readonly watchers = new Set<Watcher>();

  /** Registers a watcher; returns the function that removes it. */
  subscribe(onPost: Listener, onClose: () => void): () => void {
    const watcher = { onPost, onClose };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Tells every watcher about a newly published post. */
  published(post: PostRecord): void {
    for (const w of this.watchers) w.onPost(post);
  }

  /** Ends every watch (service shutdown). */
  closeAll(): void {
    for (const w of [...this.watchers]) w.onClose();
    this.watchers.clear();
  }

  get size(): number {
    return this.watchers.size;
  }
}
