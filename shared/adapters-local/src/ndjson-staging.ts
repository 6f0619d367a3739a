import { open, rm, type FileHandle } from 'node:fs/promises';

/** Bytes of NDJSON gathered before a write to a staging file. */
const STAGING_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * Buffers of closed staging files, for the next ones: a file's buffers are done with once it is
 * closed, long before the garbage collector would free them (bench/bronze).
 */
const spareBuffers: Buffer[] = [];
const SPARE_BUFFERS = 4;
const NO_BUFFER = Buffer.alloc(0);

function takeBuffer(): Buffer {
  return spareBuffers.pop() ?? Buffer.allocUnsafe(STAGING_BUFFER_BYTES);
}

function giveBuffer(buffer: Buffer): void {
  if (spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(buffer);
}

/**
 * A newline-delimited JSON file being written for DuckDB to read once it is complete. Lines are
 * encoded into two reused buffers (one fills while the other is written) and written through a file
 * handle, so staging allocates no buffer per write (a stream would leave one behind per chunk for
 * the garbage collector) and the caller does not wait for the disk.
 */
export class NdjsonStaging {
  private buffer = takeBuffer();
  private spare = takeBuffer();
  private writing: Promise<void> = Promise.resolve();
  private used = 0;
  /** Lines staged so far. */
  rows = 0;

  private constructor(
    /** Where the lines go. */
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Create (or truncate) the file at `path`. */
  static async open(path: string): Promise<NdjsonStaging> {
    return new NdjsonStaging(path, await open(path, 'w'));
  }

  private async writeAll(buffer: Buffer, length: number): Promise<void> {
    let offset = 0;
    while (offset < length) offset += (await this.handle.write(buffer, offset, length - offset)).bytesWritten;
  }

  /** Start writing the buffer (once the previous write is done) and fill the other one meanwhile. */
  private async flush(): Promise<void> {
    await this.writing;
    const writing = this.writeAll(this.buffer, this.used);
    writing.catch(() => undefined); // awaited by the next flush or by close
    this.writing = writing;
    [this.buffer, this.spare] = [this.spare, this.buffer];
    this.used = 0;
  }

  /**
   * Append one line in two pieces, written straight into the buffer (no string of the whole line
   * is built): `head`, then `body`. `inline` (for a body that is a JSON object) makes the body's
   * fields continue the head's object: its `{` becomes a comma; otherwise a `}` closes the line.
   * Returns false, having appended nothing, when the buffer must be flushed first ({@link lineLong}).
   */
  line(head: string, body: string, inline: boolean): boolean {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if ((head.length + body.length) * 3 + 2 > this.buffer.length - this.used) return false;
    const buffer = this.buffer;
    let used = this.used + buffer.write(head, this.used, 'utf8');
    const start = used;
    used += buffer.write(body, used, 'utf8');
    if (inline) buffer[start] = 0x2c;
    else buffer[used++] = 0x7d;
    buffer[used++] = 0x0a;
    this.used = used;
    this.rows += 1;
    return true;
  }

  /**
   * Append the line `<prefix>"<id>",<the fields of body>`: `prefix` (ASCII bytes that open an
   * object and name the id's key, `{"i":`), `id` as a JSON string, then `body` (a JSON object)
   * with its `{` turned into a comma, and a newline; the same bytes as {@link line} with the head
   * `prefix + JSON.stringify(id)`. An id of printable ASCII without a quote or a backslash (every
   * id a generator makes) is copied code unit by code unit: no JSON string of the id, no string of
   * the head, one encoding call a line instead of two (bench/bronze, Session 12). Returns false,
   * having appended nothing, when the buffer must be flushed first ({@link lineLong}).
   */
  idLine(prefix: Uint8Array, id: string, body: string): boolean {
    // An id's code unit takes at most 6 bytes (an escape); a body's at most 3 (UTF-8).
    if (prefix.length + id.length * 6 + 2 + body.length * 3 + 1 > this.buffer.length - this.used) return false;
    const buffer = this.buffer;
    let used = this.used;
    for (let index = 0; index < prefix.length; index += 1) buffer[used++] = prefix[index]!;
    const idStart = used;
    buffer[used++] = 0x22;
    let escaped = false;
    for (let index = 0; index < id.length; index += 1) {
      const unit = id.charCodeAt(index);
      if (unit < 0x20 || unit === 0x22 || unit === 0x5c || unit > 0x7e) {
        escaped = true;
        break;
      }
      buffer[used++] = unit;
    }
    if (escaped) used = idStart + buffer.write(JSON.stringify(id), idStart, 'utf8');
    else buffer[used++] = 0x22;
    const start = used;
    used += buffer.write(body, used, 'utf8');
    buffer[start] = 0x2c;
    buffer[used++] = 0x0a;
    this.used = used;
    this.rows += 1;
    return true;
  }

  /** Append the line {@link line} had no room for: flush, then append it whatever its length. */
  async lineLong(head: string, body: string, inline: boolean): Promise<void> {
    await this.flush();
    if (!this.line(head, body, inline)) await this.text(inline ? `${head},${body.slice(1)}\n` : `${head}${body}}\n`, 1);
  }

  /** Append `rows` lines of NDJSON. */
  async text(text: string, rows: number): Promise<void> {
    this.rows += rows;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.buffer.length - this.used) await this.flush();
    if (bytes > this.buffer.length) {
      await this.writing;
      await this.writeAll(Buffer.from(text, 'utf8'), bytes);
    } else this.used += this.buffer.write(text, this.used, 'utf8');
  }

  /** Write what is buffered and close the file (it stays for DuckDB to read). */
  async close(): Promise<void> {
    await this.flush();
    await this.writing;
    this.releaseBuffers();
    await this.handle.close();
  }

  /** Close the file if it is open and remove it. */
  async remove(): Promise<void> {
    await this.writing.catch(() => undefined);
    this.releaseBuffers();
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  /** Hand the buffers on once no write uses them; nothing can be staged afterwards. */
  private releaseBuffers(): void {
    if (this.buffer === NO_BUFFER) return;
    giveBuffer(this.buffer);
    giveBuffer(this.spare);
    this.buffer = NO_BUFFER;
    this.spare = NO_BUFFER;
  }
}
